/**
 * Every graded probe of the acts API, replayed in order against the routing that now also
 * holds the feeds: each status and body byte as before they were added.
 */
import request from 'supertest';
import { act, actsHarness, type ActsHarness } from '../support';

type Probe = [
  method: 'get' | 'post' | 'delete' | 'put' | 'patch',
  path: string,
  body: unknown,
  status: number,
  text: string,
];

const LISTED =
  '[{"actId":1234,"username":"xyz","timestamp":"10-10-2019:45-23-03","caption":"#helloworld","upvotes":0,"categoryName":"abc","imgB64":"bWF5byBvciBtdXN0Pw=="}]';

const SCENARIO: Probe[] = [
  ['get', '/api/v1/categories', undefined, 204, ''],
  ['post', '/api/v1/categories', ['abc'], 201, '{}'],
  ['post', '/api/v1/categories', ['abc'], 400, '{}'],
  ['post', '/api/v1/categories', 'abc', 400, '{}'],
  ['get', '/api/v1/categories', undefined, 200, '{"abc":0}'],
  ['get', '/api/v1/categories/abc/acts', undefined, 204, ''],
  ['get', '/api/v1/categories/abc/acts/size', undefined, 200, '[0]'],
  ['get', '/api/v1/categories/nope/acts', undefined, 400, '{}'],
  ['get', '/api/v1/categories/nope/acts/size', undefined, 400, '{}'],
  ['post', '/api/v1/acts', act(), 201, '{}'],
  ['post', '/api/v1/acts', act(), 400, '{}'],
  ['post', '/api/v1/acts', act({ actId: 2, upvotes: 0 }), 400, '{}'],
  ['post', '/api/v1/acts', act({ actId: 2, imgB64: '$bWF5byBvci$BtdX$N0Pw==' }), 400, '{}'],
  ['post', '/api/v1/acts', act({ actId: 2, timestamp: '2019-10-10:45-23-03' }), 400, '{}'],
  ['post', '/api/v1/acts', act({ actId: 2, categoryName: 'nope' }), 400, '{}'],
  ['post', '/api/v1/acts', act({ actId: 2, username: 'ghost' }), 400, '{}'],
  ['post', '/api/v1/acts', act({ actId: '2' }), 400, '{}'],
  ['get', '/api/v1/categories', undefined, 200, '{"abc":1}'],
  ['get', '/api/v1/categories/abc/acts', undefined, 200, LISTED],
  ['get', '/api/v1/categories/abc/acts?start=1&end=1', undefined, 200, LISTED],
  ['get', '/api/v1/categories/abc/acts?start=1&end=2', undefined, 400, '{}'],
  ['get', '/api/v1/categories/abc/acts/size', undefined, 200, '[1]'],
  ['get', '/api/v1/acts/count', undefined, 200, '[1]'],
  ['post', '/api/v1/acts/upvote', [1234], 200, '{}'],
  ['post', '/api/v1/acts/upvote', [999], 400, '{}'],
  ['post', '/api/v1/acts/upvote', 1234, 400, '{}'],
  ['get', '/api/v1/categories/abc/acts', undefined, 200, LISTED.replace('"upvotes":0', '"upvotes":1')],
  // The route traps.
  ['get', '/api/v1/acts/999', undefined, 405, '{}'],
  ['post', '/api/v1/acts/999', undefined, 405, '{}'],
  ['delete', '/api/v1/acts/upvote', undefined, 405, '{}'],
  ['get', '/api/v1/acts/upvote', undefined, 405, '{}'],
  ['delete', '/api/v1/acts/count', undefined, 405, '{}'],
  ['post', '/api/v1/acts/count', undefined, 405, '{}'],
  ['get', '/api/v1/acts', undefined, 405, '{}'],
  ['delete', '/api/v1/acts', undefined, 405, '{}'],
  ['post', '/api/v1/categories/abc', undefined, 405, '{}'],
  ['get', '/api/v1/categories/abc', undefined, 405, '{}'],
  ['post', '/api/v1/categories/abc/acts', undefined, 405, '{}'],
  ['delete', '/api/v1/categories/abc/acts', undefined, 405, '{}'],
  ['post', '/api/v1/categories/abc/acts/size', undefined, 405, '{}'],
  ['delete', '/api/v1/categories', undefined, 405, '{}'],
  ['put', '/api/v1/categories', undefined, 405, '{}'],
  ['patch', '/api/v1/acts/1234', undefined, 405, '{}'],
  ['put', '/api/v1/_count', undefined, 405, '{}'],
  ['get', '/api/v1/_crash', undefined, 405, '{}'],
  ['post', '/api/v1/_health', undefined, 405, '{}'],
  ['get', '/api/v1/nothing', undefined, 404, '{}'],
  ['post', '/api/v1/acts/1/2', undefined, 404, '{}'],
  // Deletes.
  ['delete', '/api/v1/acts/abc', undefined, 400, '{}'],
  ['delete', '/api/v1/acts/999', undefined, 400, '{}'],
  ['delete', '/api/v1/acts/1234', undefined, 200, '{}'],
  ['delete', '/api/v1/acts/1234', undefined, 400, '{}'],
  ['get', '/api/v1/acts/count', undefined, 200, '[0]'],
  ['delete', '/api/v1/categories/abc', undefined, 200, '{}'],
  ['delete', '/api/v1/categories/abc', undefined, 400, '{}'],
  ['get', '/api/v1/categories', undefined, 204, ''],
  ['get', '/api/v1/_health', undefined, 200, ''],
];

let h: ActsHarness;
beforeAll(async () => {
  h = await actsHarness();
});
afterAll(async () => {
  await h.close();
});

test('every graded probe answers its status and bytes in order, and each counts once', async () => {
  await request(h.app).delete('/api/v1/_count').expect(200, '{}');
  const answers: string[] = [];
  for (const [method, path, body, status, text] of SCENARIO) {
    let req = request(h.app)[method](path);
    if (body !== undefined) req = req.type('json').send(JSON.stringify(body));
    const res = await req;
    answers.push(`${method.toUpperCase()} ${path} → ${res.status} ${res.text}`);
    expect(answers.at(-1)).toBe(`${method.toUpperCase()} ${path} → ${status} ${text}`);
  }
  const counted = SCENARIO.filter(([, path]) => !/_count|_health|_crash/.test(path)).length;
  await request(h.app).get('/api/v1/_count').expect(200, `[${counted}]`);
});
