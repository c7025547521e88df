import {
  base64Length,
  decodeBase64Prefix,
  formatBytes,
  imageDataUrl,
  largestImageBytes,
  sniffImageMime,
  uploadBodyBytes,
  type ActFields,
} from '../../web/src/pure/image';

const b64 = (bytes: number[] | string): string =>
  Buffer.from(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Uint8Array.from(bytes)).toString(
    'base64',
  );

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52];
const JPEG = [0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1];
const GIF = 'GIF89a\x01\x00\x01\x00\x80\x00';
const WEBP = 'RIFF\x24\x00\x00\x00WEBPVP8 ';

describe('decoding the head of base64', () => {
  test('matches Node for any prefix length', () => {
    const bytes = Array.from({ length: 40 }, (_, i) => (i * 37 + 11) % 256);
    const text = b64(bytes);
    for (let n = 0; n <= 30; n++) {
      expect(Array.from(decodeBase64Prefix(text, n) ?? [])).toEqual(bytes.slice(0, n));
    }
  });

  test('stops at padding and refuses characters outside the alphabet', () => {
    expect(Array.from(decodeBase64Prefix('YQ==', 12) ?? [])).toEqual([0x61]);
    expect(decodeBase64Prefix('$bWF5byBvci$BtdX$N0Pw==', 12)).toBeNull();
  });
});

describe('sniffing the image type from magic bytes', () => {
  test.each([
    ['PNG', b64(PNG), 'image/png'],
    ['JPEG', b64(JPEG), 'image/jpeg'],
    ['GIF89a', b64(GIF), 'image/gif'],
    ['GIF87a', b64(GIF.replace('89a', '87a')), 'image/gif'],
    ['WebP', b64(WEBP), 'image/webp'],
  ])('%s', (_name, text, mime) => {
    expect(sniffImageMime(decodeBase64Prefix(text, 12)!)).toBe(mime);
    expect(imageDataUrl(text)).toBe(`data:${mime};base64,${text}`);
  });

  test.each([
    ['text', b64('maybe or must?')],
    ['RIFF that is not WebP', b64('RIFF\x24\x00\x00\x00WAVEfmt ')],
    ['a truncated PNG signature', b64(PNG.slice(0, 5))],
    ['nothing', ''],
    ['the API example bytes', 'bWF5byBvciBtdXN0Pw=='],
  ])('%s is not an image', (_name, text) => {
    expect(imageDataUrl(text)).toBeNull();
  });
});

describe('upload size', () => {
  const fields: ActFields = {
    actId: 3_543_000_000_000_123,
    username: 'zoë',
    timestamp: '10-10-2019:45-23-03',
    caption: 'Helping at the food bank — "day 2"',
    categoryName: 'kindness',
  };

  test('base64 length is 4 characters per started group of 3 bytes', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map(base64Length)).toEqual([0, 4, 4, 4, 8, 8, 8]);
    for (const n of [0, 1, 2, 3, 100, 1001])
      expect(base64Length(n)).toBe(Buffer.alloc(n).toString('base64').length);
  });

  test('is exactly the byte length of the JSON body that is sent', () => {
    for (const n of [0, 1, 2, 3, 1000, 4097]) {
      const body = JSON.stringify({ ...fields, imgB64: Buffer.alloc(n, 7).toString('base64') });
      expect(uploadBodyBytes(fields, n)).toBe(Buffer.byteLength(body, 'utf8'));
    }
  });

  test('the largest image is the biggest one whose body still fits the limit', () => {
    const limit = 20 * 1024 * 1024;
    const largest = largestImageBytes(fields, limit);
    expect(uploadBodyBytes(fields, largest)).toBeLessThanOrEqual(limit);
    expect(uploadBodyBytes(fields, largest + 1)).toBeGreaterThan(limit);
    // Base64 takes a quarter of the body: a bit under 15 MB of photo fits in 20 MB.
    expect(largest).toBeGreaterThan(15 * 1024 * 1024 - 1024);
    expect(largest).toBeLessThan(15 * 1024 * 1024);
    expect(largestImageBytes(fields, 10)).toBe(0);
  });

  test('sizes read like people write them', () => {
    expect(formatBytes(1)).toBe('1 byte');
    expect(formatBytes(820)).toBe('820 bytes');
    expect(formatBytes(14_541)).toBe('14.2 KB');
    expect(formatBytes(20 * 1024 * 1024)).toBe('20.0 MB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GB');
  });
});
