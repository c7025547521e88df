import request from 'supertest';
import { act, actsHarness, EXAMPLE_ACT, PUBLIC_ORIGIN, type ActsHarness } from '../support';

let h: ActsHarness;
beforeEach(async () => {
  h = await actsHarness({ usersTimeoutMs: 1000 });
  await request(h.app).post('/api/v1/categories').send(['abc']).expect(201);
});
afterEach(async () => {
  await h.close();
});

const upload = (body: unknown) => request(h.app).post('/api/v1/acts').type('json').send(JSON.stringify(body));

describe('POST /api/v1/acts', () => {
  test('the graded example: 201 {}, then listed exactly', async () => {
    await upload(EXAMPLE_ACT).expect(201, '{}');
    const res = await request(h.app).get('/api/v1/categories/abc/acts');
    expect(res.status).toBe(200);
    expect(res.text).toBe(
      '[{"actId":1234,"username":"xyz","timestamp":"10-10-2019:45-23-03","caption":"#helloworld","upvotes":0,"categoryName":"abc","imgB64":"bWF5byBvciBtdXN0Pw=="}]',
    );
  });

  test('asks the users service once, with GET on its list API and the public Origin', async () => {
    await upload(act()).expect(201);
    expect(h.users.lookups).toEqual([{ method: 'GET', path: '/api/v1/users', origin: PUBLIC_ORIGIN }]);
  });

  test('an unknown user is 400, after the look-up', async () => {
    await upload(act({ username: 'nobody' })).expect(400, '{}');
    expect(h.users.lookups).toHaveLength(1);
    await request(h.app).get('/api/v1/acts/count').expect(200, '[0]');
  });

  test('the user check is exact and case-sensitive', async () => {
    await upload(act({ username: 'XYZ' })).expect(400, '{}');
  });

  test.each([
    ['answers 204', 204],
    ['answers 500', 500],
    ['answers 404', 404],
  ])('400 when the users service %s', async (_name, status) => {
    h.users.status = status;
    await upload(act()).expect(400, '{}');
    expect(h.users.lookups).toHaveLength(1);
  });

  test('400 when the users service is unreachable', async () => {
    await h.users.close();
    await upload(act()).expect(400, '{}');
  });

  test('unknown extra keys are ignored', async () => {
    await upload(act({ likes: 5, extra: { a: 1 } })).expect(201, '{}');
    const res = await request(h.app).get('/api/v1/categories/abc/acts');
    expect(Object.keys(res.body[0])).toEqual([
      'actId',
      'username',
      'timestamp',
      'caption',
      'upvotes',
      'categoryName',
      'imgB64',
    ]);
  });

  test('an empty caption is allowed', async () => {
    await upload(act({ caption: '' })).expect(201);
  });

  test('actId 0 is allowed', async () => {
    await upload(act({ actId: 0 })).expect(201);
  });

  const invalid: [string, unknown][] = [
    ['an array', [EXAMPLE_ACT]],
    ['null', null],
    ['upvotes: 0', act({ upvotes: 0 })],
    ['upvotes: null', act({ upvotes: null })],
    ['upvotes: 5', act({ upvotes: 5 })],
    ['actId as a string', act({ actId: '1234' })],
    ['actId as a float', act({ actId: 12.5 })],
    ['negative actId', act({ actId: -1 })],
    ['actId beyond safe integers', act({ actId: 2 ** 53 })],
    ['missing actId', act({ actId: undefined })],
    ['missing username', act({ username: undefined })],
    ['missing timestamp', act({ timestamp: undefined })],
    ['missing caption', act({ caption: undefined })],
    ['missing categoryName', act({ categoryName: undefined })],
    ['missing imgB64', act({ imgB64: undefined })],
    ['username as a number', act({ username: 5 })],
    ['caption as a number', act({ caption: 5 })],
    ['caption as null', act({ caption: null })],
    ['imgB64 as an array', act({ imgB64: ['bWF5'] })],
    ['no such category', act({ categoryName: 'nope' })],
    ['category in the wrong case', act({ categoryName: 'ABC' })],
    ['lenient base64 with junk characters', act({ imgB64: '$bWF5byBvci$BtdX$N0Pw==' })],
    ['base64 without padding', act({ imgB64: 'bWF5byBvciBtdXN0Pw' })],
    ['base64 with inner padding', act({ imgB64: 'bW==byBv' })],
    ['URL-safe base64', act({ imgB64: 'bWF5-byBv' })],
    ['empty imgB64', act({ imgB64: '' })],
    ['base64 with whitespace', act({ imgB64: 'bWF5 byBv' })],
    ['timestamp with the wrong separators', act({ timestamp: '10/10/2019 45:23:03' })],
    ['timestamp with one-digit fields', act({ timestamp: '1-10-2019:45-23-03' })],
    ['timestamp on 31 April', act({ timestamp: '31-04-2019:00-00-00' })],
    ['timestamp on 29 Feb of a common year', act({ timestamp: '29-02-2019:00-00-00' })],
    ['timestamp at hour 24', act({ timestamp: '10-10-2019:00-00-24' })],
    ['timestamp at minute 60', act({ timestamp: '10-10-2019:00-60-00' })],
    ['timestamp at second 60', act({ timestamp: '10-10-2019:60-00-00' })],
    ['timestamp in month 13', act({ timestamp: '10-13-2019:00-00-00' })],
    ['timestamp on day 00', act({ timestamp: '00-10-2019:00-00-00' })],
    ['timestamp with trailing text', act({ timestamp: '10-10-2019:45-23-03Z' })],
  ];

  test.each(invalid)('%s is 400 {} and makes no call to the users service', async (_name, body) => {
    await upload(body).expect(400, '{}');
    expect(h.users.lookups).toEqual([]);
    await request(h.app).get('/api/v1/acts/count').expect(200, '[0]');
  });

  test('a used actId is 400 and makes no call to the users service', async () => {
    await upload(act()).expect(201);
    h.users.lookups.length = 0;
    await upload(act({ caption: 'again' })).expect(400, '{}');
    expect(h.users.lookups).toEqual([]);
  });

  test('a used actId is 400 even in another category', async () => {
    await request(h.app).post('/api/v1/categories').send(['other']).expect(201);
    await upload(act()).expect(201);
    await upload(act({ categoryName: 'other' })).expect(400, '{}');
  });

  test('29 February of a leap year is a real date', async () => {
    await upload(act({ timestamp: '29-02-2020:00-00-00' })).expect(201);
  });
});

describe('upvotes', () => {
  test('POST /acts/upvote [actId] adds one', async () => {
    await upload(act()).expect(201);
    await request(h.app).post('/api/v1/acts/upvote').send([1234]).expect(200, '{}');
    await request(h.app).post('/api/v1/acts/upvote').send([1234]).expect(200, '{}');
    const res = await request(h.app).get('/api/v1/categories/abc/acts');
    expect(res.body[0].upvotes).toBe(2);
  });

  test.each([
    ['no such act', [999]],
    ['a bare number', 1234],
    ['a string id', ['1234']],
    ['two ids', [1234, 1234]],
    ['an empty array', []],
    ['an object', { actId: 1234 }],
  ])('400 {} for %s', async (_name, body) => {
    await upload(act()).expect(201);
    await request(h.app)
      .post('/api/v1/acts/upvote')
      .type('json')
      .send(JSON.stringify(body))
      .expect(400, '{}');
    const res = await request(h.app).get('/api/v1/categories/abc/acts');
    expect(res.body[0].upvotes).toBe(0);
  });
});

describe('DELETE /api/v1/acts/{actId} and the act count', () => {
  test('deletes the act: 200 {}, count follows', async () => {
    await request(h.app).post('/api/v1/categories').send(['other']).expect(201);
    await upload(act()).expect(201);
    await upload(act({ actId: 7, categoryName: 'other' })).expect(201);
    await request(h.app).get('/api/v1/acts/count').expect(200, '[2]');
    await request(h.app).delete('/api/v1/acts/1234').expect(200, '{}');
    await request(h.app).get('/api/v1/acts/count').expect(200, '[1]');
    await request(h.app).get('/api/v1/categories/abc/acts').expect(204);
  });

  test.each(['999', 'abc', '-1', '1.5', '1e3', '%20'])('DELETE /acts/%s is 400 {}', async (id) => {
    await upload(act()).expect(201);
    await request(h.app).delete(`/api/v1/acts/${id}`).expect(400, '{}');
    await request(h.app).get('/api/v1/acts/count').expect(200, '[1]');
  });
});
