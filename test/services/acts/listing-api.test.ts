import request from 'supertest';
import { parseNewAct } from '../../../services/acts/act';
import { act, actsHarness, type ActsHarness } from '../support';

let h: ActsHarness;
beforeAll(async () => {
  h = await actsHarness();
  await request(h.app).post('/api/v1/categories').send(['big']).expect(201);
  await request(h.app).post('/api/v1/categories').send(['hundred']).expect(201);
  await request(h.app).post('/api/v1/categories').send(['empty']).expect(201);
  await request(h.app).post('/api/v1/categories').send(['order']).expect(201);
  // Seeded through the store (the upload path is covered elsewhere); same sequence semantics.
  for (let id = 1; id <= 105; id++) {
    expect(
      await h.store.createAct(
        parseNewAct(act({ actId: id, categoryName: 'big', timestamp: '01-01-2020:00-00-00' })),
      ),
    ).toBe('created');
  }
  for (let id = 1001; id <= 1100; id++) {
    expect(await h.store.createAct(parseNewAct(act({ actId: id, categoryName: 'hundred' })))).toBe('created');
  }
});
afterAll(async () => {
  await h.close();
});

const list = (name: string, query = '') => request(h.app).get(`/api/v1/categories/${name}/acts${query}`);
const ids = (body: { actId: number }[]) => body.map((a) => a.actId);

describe('listing a category', () => {
  test('equal timestamps: most recently uploaded first (105 acts, start=1&end=5 → 105..101)', async () => {
    const res = await list('big', '?start=1&end=5');
    expect(res.status).toBe(200);
    expect(ids(res.body)).toEqual([105, 104, 103, 102, 101]);
  });

  test('positions count from 1 = newest, inclusive', async () => {
    expect(ids((await list('big', '?start=101&end=105')).body)).toEqual([5, 4, 3, 2, 1]);
    expect(ids((await list('big', '?start=3&end=3')).body)).toEqual([103]);
  });

  test('exactly 100 acts without a range is 200; more than 100 is 413', async () => {
    const hundred = await list('hundred');
    expect(hundred.status).toBe(200);
    expect(hundred.body).toHaveLength(100);
    await list('big').expect(413, '{}');
  });

  test.each([
    ['?start=1&end=100', 200],
    ['?start=6&end=105', 200],
    ['?start=1&end=101', 413],
    ['?start=1&end=105', 413],
    ['?start=200&end=300', 400],
    ['?start=0&end=5', 400],
    ['?start=5&end=4', 400],
    ['?start=100&end=106', 400],
    ['?start=1', 400],
    ['?end=5', 400],
    ['?start=a&end=5', 400],
    ['?start=1.5&end=5', 400],
    ['?start=&end=5', 400],
    ['?start=1&start=2&end=5', 400],
  ])('105 acts, %s → %i', async (query, status) => {
    const res = await list('big', query);
    expect(res.status).toBe(status);
    if (status !== 200) expect(res.text).toBe('{}');
  });

  test('an empty category is 204 with an empty body, with or without a range', async () => {
    for (const query of ['', '?start=1&end=5', '?start=500&end=1']) {
      const res = await list('empty', query);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
    }
  });

  test('no such category is 400 before anything else', async () => {
    await list('nope').expect(400, '{}');
    await list('nope', '?start=1&end=500').expect(400, '{}');
    await list('BIG').expect(400, '{}');
  });

  test('newest first by the parsed date-time, not the text', async () => {
    const uploads = [
      { actId: 501, timestamp: '31-12-2018:59-59-23' },
      { actId: 502, timestamp: '01-01-2019:00-00-00' },
      { actId: 503, timestamp: '02-01-2018:00-00-00' },
      { actId: 504, timestamp: '01-01-2019:01-00-00' },
      { actId: 505, timestamp: '01-01-2019:00-00-00' },
    ];
    for (const u of uploads)
      await request(h.app)
        .post('/api/v1/acts')
        .send(act({ ...u, categoryName: 'order' }))
        .expect(201);
    expect(ids((await list('order')).body)).toEqual([504, 505, 502, 501, 503]);
  });
});
