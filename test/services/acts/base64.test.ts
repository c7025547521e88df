import { isStrictBase64 } from '../../../services/acts/base64';

describe('strict base64', () => {
  test.each([
    ['bWF5byBvciBtdXN0Pw==', true],
    ['bWF5byBvciBtdXN0', true],
    ['QQ==', true],
    ['QUI=', true],
    ['+/+/', true],
    ['$bWF5byBvci$BtdX$N0Pw==', false],
    ['', false],
    ['QQ', false],
    ['QQ=', false],
    ['Q===', false],
    ['====', false],
    ['QQ==QQ==', false],
    ['bWF5-_8=', false],
    ['bWF5 byB', false],
    ['bWF5\nbyBv', false],
    ['QR==', false], // non-canonical: would not read back as uploaded
    ['QUJ=', false],
  ])('%j → %s', (text, ok) => {
    expect(isStrictBase64(text)).toBe(ok);
  });

  test('every canonical encoding of random bytes is accepted and reads back exactly', () => {
    for (let len = 1; len <= 40; len++) {
      const bytes = Buffer.from(Array.from({ length: len }, (_, i) => (i * 37 + len) % 256));
      const text = bytes.toString('base64');
      expect(isStrictBase64(text)).toBe(true);
      expect(Buffer.from(text, 'base64').toString('base64')).toBe(text);
    }
  });
});
