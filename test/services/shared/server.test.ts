import express, { type Express } from 'express';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { silentLogger } from '../../../common/log';
import { serve, type RunningService } from '../../../services/shared/server';

/**
 * The server makes each request and response on the express app's own prototypes, so express's
 * per-request setPrototypeOf finds nothing to change (services/shared/express-server.ts). Real
 * sockets: what a client sees must be what express alone would answer.
 */
describe('serve: requests and responses made on the app prototypes', () => {
  let app: Express;
  let running: RunningService;
  let base: string;
  const seenBeforeExpress: boolean[] = [];

  beforeAll(async () => {
    app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    app.use(express.json());
    app.get('/prototypes', (req, res) => {
      res.json({
        request: Object.getPrototypeOf(req) === app.request,
        response: Object.getPrototypeOf(res) === app.response,
        header: req.get('x-probe') ?? null,
        query: req.query,
      });
    });
    app.post('/echo', (req, res) => void res.status(201).json(req.body));
    running = await serve(app, {
      port: 0,
      logger: silentLogger,
      onClosed: async () => {},
      // A listener in front of the app, as the users service's early shed is.
      handle: (req, res) => {
        seenBeforeExpress.push(Object.getPrototypeOf(req) === app.request);
        app(req, res);
      },
    });
    base = `http://127.0.0.1:${(running.server.address() as AddressInfo).port}`;
  });

  afterAll(() => running.shutdown());

  test('a request already has the app prototypes before express sees it', async () => {
    const res = await fetch(`${base}/prototypes?x=1`, { headers: { 'x-probe': 'yes' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ request: true, response: true, header: 'yes', query: { x: '1' } });
    expect(seenBeforeExpress.at(-1)).toBe(true);
  });

  test('bodies, statuses, HEAD and unknown paths answer as express does', async () => {
    const posted = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":[1,2]}',
    });
    expect(posted.status).toBe(201);
    expect(posted.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await posted.text()).toBe('{"a":[1,2]}');

    const head = await fetch(`${base}/prototypes`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');

    const missing = await fetch(`${base}/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('Cannot GET /nowhere');
  });

  test('a keep-alive connection serves one request after another', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; body: string; socket: unknown }>((resolve, reject) => {
        const req = http.get(`${base}/prototypes`, { agent }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, body, socket: req.socket }));
        });
        req.on('error', reject);
      });
    const first = await get();
    const second = await get();
    agent.destroy();
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.socket).toBe(first.socket);
    expect(JSON.parse(second.body)).toMatchObject({ request: true, response: true });
  });
});
