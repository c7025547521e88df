import request from 'supertest';
import { PASSWORD, usersHarness, type UsersHarness } from '../support';

let h: UsersHarness;
beforeEach(async () => {
  h = await usersHarness();
});
afterEach(async () => {
  await h.close();
});

const addUser = (username: unknown, password: unknown = PASSWORD) =>
  request(h.app).post('/api/v1/users').send({ username, password });

describe('POST /api/v1/users', () => {
  test('creates a user: 201 with body {}', async () => {
    const res = await addUser('xyz');
    expect(res.status).toBe(201);
    expect(res.text).toBe('{}');
  });

  test('an existing username is 400, compared exactly and case-sensitively', async () => {
    await addUser('xyz').expect(201);
    const again = await addUser('xyz');
    expect(again.status).toBe(400);
    expect(again.text).toBe('{}');
    await addUser('XYZ').expect(201);
    await addUser('xyz ').expect(201);
    expect((await request(h.app).get('/api/v1/users')).body).toEqual(['xyz', 'XYZ', 'xyz ']);
  });

  test('accepts the SHA-1 hex in any case', async () => {
    await addUser('upper', PASSWORD.toUpperCase()).expect(201);
  });

  test.each([
    ['password of 39 hex chars', { username: 'a', password: PASSWORD.slice(1) }],
    ['password of 41 hex chars', { username: 'a', password: PASSWORD + 'a' }],
    ['password with a non-hex char', { username: 'a', password: 'g' + PASSWORD.slice(1) }],
    ['password as a number', { username: 'a', password: 12345 }],
    ['missing password', { username: 'a' }],
    ['missing username', { password: PASSWORD }],
    ['empty username', { username: '', password: PASSWORD }],
    ['username as a number', { username: 7, password: PASSWORD }],
    ['username as null', { username: null, password: PASSWORD }],
    ['an array body', [{ username: 'a', password: PASSWORD }]],
    ['a huge username', { username: 'u'.repeat(100_000), password: PASSWORD }],
  ])('400 {} for %s', async (_name, body) => {
    const res = await request(h.app)
      .post('/api/v1/users')
      .send(body as object);
    expect(res.status).toBe(400);
    expect(res.text).toBe('{}');
    expect(await h.store.listUsernames()).toEqual([]);
  });

  test('400 for a body that is not JSON, and for no body at all', async () => {
    await request(h.app)
      .post('/api/v1/users')
      .set('Content-Type', 'application/json')
      .send('{"username":')
      .expect(400, '{}');
    await request(h.app).post('/api/v1/users').expect(400, '{}');
  });

  test('stores only a salted scrypt hash, never the SHA-1', async () => {
    await addUser('xyz').expect(201);
    const stored = await h.store.getPasswordHash('xyz');
    expect(stored).toMatch(/^scrypt\$/);
    expect(stored!.toLowerCase()).not.toContain(PASSWORD);
  });
});

describe('GET /api/v1/users', () => {
  test('204 with an empty body when there are no users', async () => {
    const res = await request(h.app).get('/api/v1/users');
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
  });

  test('lists usernames in insertion order', async () => {
    for (const name of ['zed', 'alice', 'Mike']) await addUser(name).expect(201);
    const res = await request(h.app).get('/api/v1/users');
    expect(res.status).toBe(200);
    expect(res.text).toBe('["zed","alice","Mike"]');
  });
});

describe('DELETE /api/v1/users/{username}', () => {
  test('deletes the user: 200 {}; then the name is free again', async () => {
    await addUser('xyz').expect(201);
    await request(h.app).delete('/api/v1/users/xyz').expect(200, '{}');
    await request(h.app).get('/api/v1/users').expect(204);
    await addUser('xyz').expect(201);
  });

  test('400 {} for no such user, exact case', async () => {
    await addUser('xyz').expect(201);
    await request(h.app).delete('/api/v1/users/XYZ').expect(400, '{}');
    await request(h.app).delete('/api/v1/users/nobody').expect(400, '{}');
  });

  test('the path segment is URL-decoded', async () => {
    await addUser('a b/c').expect(201);
    await request(h.app).delete('/api/v1/users/a%20b%2Fc').expect(200, '{}');
  });
});

describe('POST /api/v1/users/{username}/session (web sign-in)', () => {
  beforeEach(async () => {
    await addUser('xyz').expect(201);
  });

  test('200 {} for the right password, in any hex case', async () => {
    await request(h.app).post('/api/v1/users/xyz/session').send({ password: PASSWORD }).expect(200, '{}');
    await request(h.app)
      .post('/api/v1/users/xyz/session')
      .send({ password: PASSWORD.toUpperCase() })
      .expect(200, '{}');
  });

  test('401 {} for a wrong password or an unknown user', async () => {
    await request(h.app)
      .post('/api/v1/users/xyz/session')
      .send({ password: 'a'.repeat(40) })
      .expect(401, '{}');
    await request(h.app).post('/api/v1/users/nobody/session').send({ password: PASSWORD }).expect(401, '{}');
    await request(h.app).post('/api/v1/users/XYZ/session').send({ password: PASSWORD }).expect(401, '{}');
  });

  test('400 {} for a malformed body', async () => {
    await request(h.app).post('/api/v1/users/xyz/session').send({ password: 'short' }).expect(400, '{}');
    await request(h.app).post('/api/v1/users/xyz/session').send([PASSWORD]).expect(400, '{}');
    await request(h.app).post('/api/v1/users/xyz/session').expect(400, '{}');
  });

  test('other methods are 405', async () => {
    await request(h.app).get('/api/v1/users/xyz/session').expect(405, '{}');
    await request(h.app).delete('/api/v1/users/xyz/session').expect(405, '{}');
  });
});
