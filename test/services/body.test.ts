import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import request from 'supertest';
import { DEFAULT_BODY_LIMIT_BYTES } from '../../services/shared/body';
import { act, actsHarness, type ActsHarness } from './support';

let h: ActsHarness;
beforeAll(async () => {
  h = await actsHarness();
  await request(h.app).post('/api/v1/categories').send(['abc']).expect(201);
});
afterAll(async () => {
  await h.close();
});

/** A real socket, so the 413 is observed as a client that keeps sending would see it. */
async function withServer<T>(run: (port: number) => Promise<T>): Promise<T> {
  const server = http.createServer(h.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await run((server.address() as AddressInfo).port);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function post(
  port: number,
  path: string,
  body: Readable | Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    // The server may answer and stop reading before the client has finished writing.
    req.on('error', reject);
    if (Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}

describe('request bodies', () => {
  test.each([
    'application/json',
    'application/json;charset=utf-8',
    'text/plain',
    'application/x-www-form-urlencoded',
  ])('parsed as JSON whatever the Content-Type (%s)', async (type) => {
    await request(h.app)
      .post('/api/v1/acts/upvote')
      .set('Content-Type', type)
      .send('[424242]')
      .expect(400, '{}'); // parsed: a well-formed upvote of an act that does not exist
    await request(h.app)
      .post('/api/v1/acts')
      .set('Content-Type', type)
      .send(JSON.stringify(act({ actId: Math.floor(Math.random() * 1e9) })))
      .expect(201, '{}');
  });

  test('parsed with no Content-Type at all, and with a UTF-8 byte order mark', async () => {
    await withServer(async (port) => {
      const body = Buffer.from(JSON.stringify(act({ actId: 77 })));
      expect(await post(port, '/api/v1/acts', body, {})).toEqual({ status: 201, text: '{}' });
      const bom = Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from(JSON.stringify(act({ actId: 78 }))),
      ]);
      expect(await post(port, '/api/v1/acts', bom, {})).toEqual({ status: 201, text: '{}' });
    });
  });

  test.each(['{', '{"actId":', 'nul', '[1,]', "{'a':1}", '\u0000'])(
    'unparseable body %j is 400 {}',
    async (text) => {
      await request(h.app).post('/api/v1/acts').type('json').send(text).expect(400, '{}');
    },
  );

  test('a 25 MB body with Content-Length is 413 {} and leaves nothing behind', async () => {
    const before = (await request(h.app).get('/api/v1/acts/count')).text;
    await withServer(async (port) => {
      const body = Buffer.from(JSON.stringify(act({ actId: 9001, imgB64: 'A'.repeat(25 * 1024 * 1024) })));
      expect(await post(port, '/api/v1/acts', body, { 'Content-Type': 'application/json' })).toEqual({
        status: 413,
        text: '{}',
      });
    });
    expect((await request(h.app).get('/api/v1/acts/count')).text).toBe(before);
  });

  test('a chunked body that grows past the limit is 413 {} without being buffered', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x41);
    let sent = 0;
    const endless = new Readable({
      read() {
        sent += chunk.length;
        this.push(sent > 26 * 1024 * 1024 ? null : chunk);
      },
    });
    await withServer(async (port) => {
      expect(await post(port, '/api/v1/acts', endless, { 'Content-Type': 'application/json' })).toEqual({
        status: 413,
        text: '{}',
      });
    });
  });

  test('a 20 MB photo fits, and is listed back byte for byte', async () => {
    await request(h.app).post('/api/v1/categories').send(['photos']).expect(201);
    const bytes = Buffer.alloc(15 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i % 251;
    const imgB64 = bytes.toString('base64');
    expect(imgB64.length).toBeGreaterThanOrEqual(20 * 1024 * 1024);
    expect(imgB64.length).toBeLessThan(DEFAULT_BODY_LIMIT_BYTES);
    await request(h.app)
      .post('/api/v1/acts')
      .send(act({ actId: 31337, categoryName: 'photos', imgB64 }))
      .expect(201);
    const res = await request(h.app).get('/api/v1/categories/photos/acts');
    expect(res.status).toBe(200);
    expect(res.body[0].imgB64 === imgB64).toBe(true);
  });

  test('a large photo is checked as strictly as a small one: bad base64 is 400 and nothing is stored', async () => {
    const imgB64 = Buffer.alloc(300 * 1024, 7).toString('base64');
    for (const bad of [
      imgB64.slice(0, -1),
      `${imgB64.slice(0, -4)}QR==`,
      `${imgB64.slice(0, 1000)}-${imgB64.slice(1001)}`,
    ])
      await request(h.app)
        .post('/api/v1/acts')
        .send(act({ actId: 41001, imgB64: bad }))
        .expect(400, '{}');
    await request(h.app)
      .post('/api/v1/acts')
      .send(act({ actId: 41001, imgB64: 'MQ' + imgB64 }))
      .expect(400, '{}');
    expect((await request(h.app).delete('/api/v1/acts/41001')).status).toBe(400);
  });

  test('a large photo whose JSON escapes its slashes is the same photo', async () => {
    const bytes = Buffer.alloc(300 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 256;
    const imgB64 = bytes.toString('base64');
    expect(imgB64).toContain('/');
    const body = JSON.stringify(act({ actId: 41002, categoryName: 'abc', imgB64 })).replace(/\//g, '\\/');
    await request(h.app).post('/api/v1/acts').type('json').send(body).expect(201);
    const res = await request(h.app).get('/api/v1/categories/abc/acts');
    expect(res.body.find((a: { actId: number }) => a.actId === 41002).imgB64 === imgB64).toBe(true);
    await request(h.app).delete('/api/v1/acts/41002').expect(200);
  });
});
