import { randomBytes } from 'node:crypto';
import { isStrictBase64 } from '../../../services/acts/base64';
import { LARGE_TEXT_BYTES, LargeText, parseJsonKeepingLargeText } from '../../../services/shared/large-text';

const big = (bytes = LARGE_TEXT_BYTES) => randomBytes(bytes).toString('base64');

/** The parse with every LargeText turned back into its string: must equal JSON.parse. */
function asStrings(value: unknown): unknown {
  if (value instanceof LargeText) return value.toString();
  if (Array.isArray(value)) return value.map(asStrings);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asStrings(v)]));
  return value;
}

describe('parseJsonKeepingLargeText', () => {
  const photo = big();
  test.each([
    ['a small body', '{"imgB64":"QUJD","caption":"x"}'],
    ['a photo', JSON.stringify({ actId: 1, imgB64: photo, caption: 'c' })],
    ['a long caption beside the photo', JSON.stringify({ caption: photo, imgB64: photo })],
    ['a long value nested deeper', JSON.stringify({ nested: { imgB64: photo }, list: [photo, 'x'] })],
    ['a long key', `{${JSON.stringify(photo)}: 1, "imgB64": "QQ=="}`],
    ['escapes inside the long value', JSON.stringify({ imgB64: photo.replace(/\//g, '\\/') })],
    ['an escaped quote before the long value', `{"a":"x\\"y","imgB64":"${photo}"}`],
    ['non-ASCII in the long value', JSON.stringify({ imgB64: 'é'.repeat(LARGE_TEXT_BYTES) })],
    ['a duplicate field (the last wins)', `{"imgB64":"${photo}","imgB64":"QUJD"}`],
    ['a __proto__ field', `{"__proto__":"${photo}","imgB64":"${photo}"}`],
    ['a byte-order mark', `\ufeff{"imgB64":"${photo}"}`],
    ['an array at the top', `["${photo}"]`],
  ])('%s: the same value as JSON.parse', (_name, text) => {
    const parsed = parseJsonKeepingLargeText(Buffer.from(text), 'imgB64');
    const expected: unknown = JSON.parse(text.replace(/^\ufeff/, ''));
    expect(asStrings(parsed)).toEqual(asStrings(expected));
    if (Object.hasOwn(expected as object, '__proto__'))
      expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
  });

  test('only the named top-level field of a long plain value stays bytes', () => {
    const parsed = parseJsonKeepingLargeText(
      Buffer.from(JSON.stringify({ imgB64: photo, caption: photo, nested: { imgB64: photo } })),
      'imgB64',
    ) as Record<string, unknown>;
    expect(parsed.imgB64).toBeInstanceOf(LargeText);
    expect(typeof parsed.caption).toBe('string');
    expect(typeof (parsed.nested as Record<string, unknown>).imgB64).toBe('string');
  });

  test.each([
    ['cut short', `{"imgB64":"${photo}"`],
    ['a stray token after the value', `{"imgB64":"${photo}" 1}`],
    ['a control character in the value', `{"imgB64":"${photo}\u0001"}`],
    ['nothing but a long string', `"${photo}`],
  ])('invalid JSON stays invalid: %s', (_name, text) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(() => parseJsonKeepingLargeText(Buffer.from(text), 'imgB64')).toThrow();
  });
});

describe('LargeText', () => {
  const text = (s: string) => new LargeText(Buffer.from(s, 'latin1'));

  test.each([
    '',
    'QQ==',
    'QQ=',
    'QR==',
    'QUI=',
    'QUJ=',
    'QUJD',
    'QUJ',
    'QU JD',
    'QUJD====',
    '=QUJ',
    'Q-_D',
    big(30),
  ])('isStrictBase64(%j) agrees with the check for strings', (s) => {
    expect(text(s).isStrictBase64()).toBe(isStrictBase64(s));
  });

  test.each([0, 1, 2, 3, 4, 5, 100, 3 * LARGE_TEXT_BYTES + 1])(
    'decoding %i bytes in place gives the bytes the text encodes',
    (n) => {
      const bytes = randomBytes(n);
      const encoded = bytes.toString('base64');
      if (n === 0) return;
      expect(Buffer.compare(text(encoded).decodeBase64InPlace(), bytes)).toBe(0);
    },
  );

  test('after an in-place decode the text is gone, and reading it says so', () => {
    const value = text('QUJD');
    value.decodeBase64InPlace();
    expect(() => value.toString()).toThrow(/decoded in place/);
  });
});
