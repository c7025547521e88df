import request from 'supertest';
import { parseNewAct } from '../../../services/acts/act';
import { act, actsHarness, type ActsHarness } from '../support';

let h: ActsHarness;
beforeAll(async () => {
  h = await actsHarness();
  for (const name of ['a', 'b', 'big'])
    await request(h.app).post('/api/v1/categories').send([name]).expect(201);
  h.users.usernames = ['alice', 'bob'];
});
afterAll(async () => {
  await h.close();
});

const ids = (body: { actId: number }[]) => body.map((a) => a.actId);
const byUser = (name: string, query = '') => request(h.app).get(`/api/v1/list_act_user/${name}${query}`);
const recent = (query: string) => request(h.app).get(`/api/v1/acts/recent${query}`);

describe('empty', () => {
  test('no acts anywhere: the feed is 204, whatever the range', async () => {
    await recent('?start=1&end=10').expect(204, '');
    await recent('').expect(204, '');
  });

  test('a user without acts, existing or not, is 204', async () => {
    await byUser('alice').expect(204, '');
    await byUser('nobody-ever').expect(204, '');
  });
});

describe('with acts', () => {
  beforeAll(async () => {
    // Uploaded through the API: alice in two categories, bob in one, out of time order.
    const uploads = [
      { actId: 1, username: 'alice', categoryName: 'a', timestamp: '01-01-2020:00-00-10' },
      { actId: 2, username: 'bob', categoryName: 'a', timestamp: '01-01-2020:00-00-12' },
      { actId: 3, username: 'alice', categoryName: 'b', timestamp: '01-01-2021:00-00-10' },
      { actId: 4, username: 'alice', categoryName: 'b', timestamp: '01-01-2019:00-00-10' },
    ];
    for (const u of uploads) await request(h.app).post('/api/v1/acts').send(act(u)).expect(201);
  });

  test("a user's acts across categories, newest first, in the category listing's exact shape", async () => {
    const res = await byUser('alice');
    expect(res.status).toBe(200);
    expect(ids(res.body)).toEqual([3, 1, 4]);
    const inCategory = await request(h.app).get('/api/v1/categories/b/acts?start=1&end=1');
    expect(JSON.stringify(res.body[0])).toBe(JSON.stringify(inCategory.body[0]));
    expect(
      res.text.startsWith('[{"actId":3,"username":"alice","timestamp":"01-01-2021:00-00-10","caption":'),
    ).toBe(true);
  });

  test('the recent feed lists every category, newest first', async () => {
    const res = await recent('?start=1&end=4');
    expect(res.status).toBe(200);
    expect(ids(res.body)).toEqual([3, 2, 1, 4]);
    expect(ids((await recent('?start=2&end=3')).body)).toEqual([2, 1]);
  });

  test('deleting the user leaves their acts listed under the name', async () => {
    h.users.usernames = ['bob'];
    expect(ids((await byUser('alice')).body)).toEqual([3, 1, 4]);
  });

  test('an act deleted, or its category deleted, leaves both listings', async () => {
    await request(h.app).delete('/api/v1/acts/1').expect(200);
    expect(ids((await byUser('alice')).body)).toEqual([3, 4]);
    await request(h.app).delete('/api/v1/categories/b').expect(200);
    await byUser('alice').expect(204, '');
    expect(ids((await recent('?start=1&end=1')).body)).toEqual([2]);
    await request(h.app).get('/api/v1/acts/count').expect(200, '[1]');
  });

  test('names are exact: case and trailing spaces matter, and URL-encoded names decode', async () => {
    h.users.usernames = ['Bob ', 'ü 🐱'];
    await request(h.app)
      .post('/api/v1/acts')
      .send(act({ actId: 50, username: 'Bob ', categoryName: 'a' }))
      .expect(201);
    await request(h.app)
      .post('/api/v1/acts')
      .send(act({ actId: 51, username: 'ü 🐱', categoryName: 'a' }))
      .expect(201);
    expect(ids((await byUser('Bob%20')).body)).toEqual([50]);
    expect(ids((await byUser('bob')).body)).toEqual([2]);
    expect(ids((await byUser(encodeURIComponent('ü 🐱'))).body)).toEqual([51]);
  });
});

describe('ranges and limits, as for a category', () => {
  beforeAll(async () => {
    for (let id = 1000; id < 1105; id++) {
      expect(
        await h.store.createAct(
          parseNewAct(
            act({ actId: id, username: 'many', categoryName: 'big', timestamp: '01-01-2030:00-00-00' }),
          ),
        ),
      ).toBe('created');
    }
  });

  test('equal timestamps: most recently uploaded first, on both listings', async () => {
    expect(ids((await byUser('many', '?start=1&end=5')).body)).toEqual([1104, 1103, 1102, 1101, 1100]);
    expect(ids((await recent('?start=1&end=3')).body)).toEqual([1104, 1103, 1102]);
  });

  test('a page at the far end comes back in the same order as from the newest end', async () => {
    expect(ids((await byUser('many', '?start=101&end=105')).body)).toEqual([1004, 1003, 1002, 1001, 1000]);
    expect(ids((await byUser('many', '?start=1&end=100')).body)).toEqual(
      Array.from({ length: 100 }, (_, i) => 1104 - i),
    );
    expect(ids((await byUser('many', '?start=6&end=105')).body)).toEqual(
      Array.from({ length: 100 }, (_, i) => 1099 - i),
    );
  });

  test.each([
    ['', 413],
    ['?start=1&end=100', 200],
    ['?start=1&end=101', 413],
    ['?start=200&end=300', 400],
    ['?start=0&end=5', 400],
    ['?start=5&end=4', 400],
    ['?start=1', 400],
    ['?end=5', 400],
    ['?start=a&end=5', 400],
  ])('a user with 105 acts, %s → %i', async (query, status) => {
    const res = await byUser('many', query);
    expect(res.status).toBe(status);
    if (status !== 200) expect(res.text).toBe('{}');
  });

  test.each([
    ['', 400],
    ['?start=1', 400],
    ['?end=5', 400],
    ['?start=1&end=100', 200],
    ['?start=1&end=101', 413],
    ['?start=0&end=5', 400],
    ['?start=100&end=1000', 400],
  ])('the feed (107 acts), %s → %i: the range is required', async (query, status) => {
    const res = await recent(query);
    expect(res.status).toBe(status);
    if (status !== 200) expect(res.text).toBe('{}');
  });

  test('a user with exactly 100 acts is listed whole without a range', async () => {
    await request(h.app).delete('/api/v1/acts/1000').expect(200);
    await request(h.app).delete('/api/v1/acts/1001').expect(200);
    await request(h.app).delete('/api/v1/acts/1002').expect(200);
    await request(h.app).delete('/api/v1/acts/1003').expect(200);
    await request(h.app).delete('/api/v1/acts/1004').expect(200);
    const res = await byUser('many');
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(100);
  });
});

describe('bad names and methods', () => {
  test.each([
    ['/api/v1/list_act_user', 400],
    ['/api/v1/list_act_user/', 400],
    [`/api/v1/list_act_user/${'x'.repeat(256)}`, 400],
    [`/api/v1/list_act_user/${'x'.repeat(255)}`, 204],
    ['/api/v1/list_act_user/%ED%A0%80', 400],
  ])('GET %s → %i', async (path, status) => {
    const res = await request(h.app).get(path);
    expect(res.status).toBe(status);
    expect(res.text).toBe(status === 204 ? '' : '{}');
  });

  test.each([
    ['post', '/api/v1/list_act_user/alice'],
    ['delete', '/api/v1/list_act_user/alice'],
    ['put', '/api/v1/list_act_user'],
    ['post', '/api/v1/acts/recent'],
    ['delete', '/api/v1/acts/recent'],
    ['patch', '/api/v1/acts/recent'],
  ] as const)('%s %s → 405 before anything else', async (method, path) => {
    const res = await request(h.app)[method](path).type('json').send('{not json');
    expect(res.status).toBe(405);
    expect(res.text).toBe('{}');
  });

  test('paths below the new routes are unknown: 404', async () => {
    await request(h.app).get('/api/v1/list_act_user/alice/more').expect(404, '{}');
    await request(h.app).get('/api/v1/acts/recent/1').expect(404, '{}');
  });
});
