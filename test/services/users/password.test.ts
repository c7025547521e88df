import { hashPassword, UNKNOWN_USER_HASH, verifyPassword } from '../../../services/users/password';

const SHA1 = '3d725109c7e7c0bfb9d709836735b56d943d263f';

describe('password hashing', () => {
  test('a salted scrypt hash verifies the same SHA-1 in any case, and nothing else', async () => {
    const stored = await hashPassword(SHA1);
    expect(stored).not.toContain(SHA1);
    expect(await verifyPassword(SHA1, stored)).toBe(true);
    expect(await verifyPassword(SHA1.toUpperCase(), stored)).toBe(true);
    expect(await verifyPassword('0'.repeat(40), stored)).toBe(false);
  });

  test('two hashes of one password differ (salt)', async () => {
    expect(await hashPassword(SHA1)).not.toBe(await hashPassword(SHA1));
  });

  test('a malformed stored value and the unknown-user hash never verify', async () => {
    expect(await verifyPassword(SHA1, 'plain')).toBe(false);
    expect(await verifyPassword(SHA1, UNKNOWN_USER_HASH)).toBe(false);
  });
});
