import request from 'supertest';
import { actsHarness, usersHarness, type ActsHarness, type UsersHarness } from './support';

type Probe = [method: string, path: string];

const ALL_METHODS = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS'];

/** Every known route with the methods it supports; every other method must be 405. */
const ACTS_ROUTES: [path: string, supported: string[]][] = [
  ['/api/v1/categories', ['GET', 'POST']],
  ['/api/v1/categories/abc', ['DELETE']],
  ['/api/v1/categories/abc/acts', ['GET']],
  ['/api/v1/categories/abc/acts/size', ['GET']],
  ['/api/v1/acts', ['POST']],
  ['/api/v1/acts/upvote', ['POST']],
  ['/api/v1/acts/count', ['GET']],
  ['/api/v1/acts/999', ['DELETE']],
  ['/api/v1/_count', ['GET', 'DELETE']],
  ['/api/v1/_health', ['GET']],
  ['/api/v1/_crash', ['POST']],
];

const USERS_ROUTES: [path: string, supported: string[]][] = [
  ['/api/v1/users', ['GET', 'POST']],
  ['/api/v1/users/xyz', ['DELETE']],
  ['/api/v1/users/xyz/session', ['POST']],
  ['/api/v1/_count', ['GET', 'DELETE']],
  ['/api/v1/_health', ['GET']],
  ['/api/v1/_crash', ['POST']],
];

function unsupported(routes: [string, string[]][]): Probe[] {
  return routes.flatMap(([path, supported]) =>
    ALL_METHODS.filter((m) => !supported.includes(m)).map((m): Probe => [m, path]),
  );
}

const send = (app: Parameters<typeof request>[0], method: string, path: string) =>
  request(app)[method.toLowerCase() as 'get'](path);

describe('acts: 405 is decided before the body or existence', () => {
  let h: ActsHarness;
  beforeAll(async () => {
    h = await actsHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  test.each(unsupported(ACTS_ROUTES))('%s %s → 405 {}', async (method, path) => {
    const res = await send(h.app, method, path);
    expect(res.status).toBe(405);
    expect(res.text).toBe('{}');
  });

  test('the graded traps', async () => {
    await request(h.app).get('/api/v1/acts/999').expect(405, '{}');
    await request(h.app).post('/api/v1/categories/abc').expect(405, '{}');
    await request(h.app).delete('/api/v1/acts/upvote').expect(405, '{}');
    await request(h.app).delete('/api/v1/acts/count').expect(405, '{}');
    await request(h.app).post('/api/v1/categories/abc/acts').expect(405, '{}');
    await request(h.app).delete('/api/v1/categories/abc/acts').expect(405, '{}');
  });

  test('405 wins over an unparseable body', async () => {
    await request(h.app).put('/api/v1/acts').type('json').send('{not json').expect(405, '{}');
  });

  test('a 405 says which methods are allowed', async () => {
    const res = await request(h.app).put('/api/v1/categories');
    expect(res.headers.allow).toBe('GET, POST, HEAD');
  });

  test.each([
    ['GET', '/'],
    ['GET', '/api/v1/nothing'],
    ['POST', '/api/v1/acts/1/2'],
    ['GET', '/api/v1/categories/a/acts/size/more'],
    ['GET', '/API/V1/CATEGORIES'],
  ])('unknown path %s %s → 404 {}', async (method, path) => {
    const res = await send(h.app, method, path);
    expect(res.status).toBe(404);
    expect(res.text).toBe('{}');
  });

  test('CORS: every origin is allowed, and a preflight is answered (not 405)', async () => {
    const simple = await request(h.app).get('/api/v1/categories').set('Origin', 'http://elsewhere.example');
    expect(simple.headers['access-control-allow-origin']).toBe('*');
    const preflight = await request(h.app)
      .options('/api/v1/acts')
      .set('Origin', 'http://elsewhere.example')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type');
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');
    expect(preflight.headers['access-control-allow-methods']).toContain('POST');
    expect(preflight.headers['access-control-allow-headers']).toBe('content-type');
  });
});

describe('users: 405 is decided before the body or existence', () => {
  let h: UsersHarness;
  beforeAll(async () => {
    h = await usersHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  test.each(unsupported(USERS_ROUTES))('%s %s → 405 {}', async (method, path) => {
    const res = await send(h.app, method, path);
    expect(res.status).toBe(405);
    expect(res.text).toBe('{}');
  });

  test('unknown paths are 404 {}', async () => {
    await request(h.app).get('/api/v1/users/xyz/other').expect(404, '{}');
    await request(h.app).get('/api/v1/categories').expect(404, '{}');
  });
});
