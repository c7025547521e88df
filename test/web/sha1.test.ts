import { createHash } from 'node:crypto';
import { sha1Hex, sha1HexSync } from '../../web/src/pure/sha1';

const nodeSha1 = (text: string): string => createHash('sha1').update(text, 'utf8').digest('hex');

describe('SHA-1 of passwords', () => {
  test('known digests', async () => {
    expect(sha1HexSync('')).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
    expect(sha1HexSync('abc')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(await sha1Hex('abc')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
  });

  test('the built-in implementation agrees with the platform across block boundaries and UTF-8', () => {
    const samples = [
      'p@ssw0rd',
      'zoë ☃ 密码',
      'x'.repeat(55),
      'x'.repeat(56),
      'x'.repeat(64),
      'y'.repeat(1000),
    ];
    for (let n = 0; n < 130; n++) samples.push('a'.repeat(n));
    for (const text of samples) expect(sha1HexSync(text)).toBe(nodeSha1(text));
  });
});
