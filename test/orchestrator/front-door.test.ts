import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RoundRobinBalancer } from '../../orchestrator/balancer';
import { createFrontDoor } from '../../orchestrator/front-door';
import type { FrontDoor } from '../../orchestrator/front-door';
import { silentLogger } from '../../common/log';
import {
  cacheControlFor,
  IMMUTABLE_CACHE,
  resolveUnderRoot,
  REVALIDATE_CACHE,
} from '../../orchestrator/static-files';
import { eventually, gate, send, startBackend } from '../support/proxy-servers';
import type { BackendHandler, TestBackend } from '../support/proxy-servers';

interface Running {
  port: number;
  frontDoor: FrontDoor;
  counted: string[];
  acts: RoundRobinBalancer;
  users: RoundRobinBalancer;
}

/** Raw request line, so the path reaches the server exactly as written (no client-side normalisation). */
function rawGet(
  port: number,
  target: string,
  method = 'GET',
): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(`${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    );
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, ...rest] = text.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), head: head.toLowerCase(), body: rest.join('\r\n\r\n') });
    });
  });
}

describe('static file rules', () => {
  test.each([
    ['assets/app-J7WBJFXC.js', IMMUTABLE_CACHE],
    ['chunk.3f9a1c2e.css', IMMUTABLE_CACHE],
    ['assets/logo-A1B2C3D4E5.svg', IMMUTABLE_CACHE],
    ['index.html', REVALIDATE_CACHE],
    ['application-settings.js', REVALIDATE_CACHE],
    ['service-worker.js', REVALIDATE_CACHE],
    ['app.js', REVALIDATE_CACHE],
  ])('%s is cached with %s', (file, cache) => {
    expect(cacheControlFor(file)).toBe(cache);
  });

  test.each([
    ['/', '/srv/ui/index.html'],
    ['/assets/app.js', '/srv/ui/assets/app.js'],
    ['/a%20b.txt', '/srv/ui/a b.txt'],
    ['/./x.js', '/srv/ui/x.js'],
    ['/../x', null],
    ['/%2e%2e/x', null],
    ['/a/%2e%2e/%2e%2e/x', null],
    ['/.git/config', null],
    ['/a\\..\\x', null],
    ['/x%00.js', null],
    ['/%ZZ', null],
  ])('%s resolves to %s under /srv/ui', (urlPath, expected) => {
    expect(resolveUnderRoot('/srv/ui', urlPath)).toBe(expected);
  });
});

describe('front door', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function backend(name: string, handler?: BackendHandler): Promise<TestBackend> {
    const b = await startBackend(name, handler);
    cleanups.push(() => b.close());
    return b;
  }

  async function start(
    options: { acts?: number[]; users?: number[]; staticDir?: string } = {},
  ): Promise<Running> {
    const acts = new RoundRobinBalancer();
    const users = new RoundRobinBalancer();
    for (const [balancer, ports] of [
      [acts, options.acts ?? []],
      [users, options.users ?? []],
    ] as const) {
      for (const port of ports) {
        balancer.add(port);
        balancer.setInRotation(port, true);
      }
    }
    const counted: string[] = [];
    const frontDoor = createFrontDoor({
      pools: [
        { name: 'acts', pathPrefixes: ['/api/v1/'], balancer: acts },
        { name: 'users', pathPrefixes: ['/api/v1/users'], balancer: users },
      ],
      staticDir: options.staticDir,
      onCountedRequest: (pool) => counted.push(pool),
      logger: silentLogger,
    });
    await frontDoor.listen(0, '127.0.0.1');
    cleanups.push(() => frontDoor.close());
    return { port: (frontDoor.server.address() as AddressInfo).port, frontDoor, counted, acts, users };
  }

  describe('routing', () => {
    test.each([
      ['/api/v1/users', 'users'],
      ['/api/v1/users/alice', 'users'],
      ['/api/v1/users/alice/session', 'users'],
      ['/api/v1/acts', 'acts'],
      ['/api/v1/categories', 'acts'],
      ['/api/v1/categories/cats/acts?start=1&end=2', 'acts'],
      ['/api/v1/a/b/c/d/e/f', 'acts'],
    ])('%s goes to the %s pool', async (target, pool) => {
      const acts = await backend('acts');
      const users = await backend('users');
      const fd = await start({ acts: [acts.port], users: [users.port] });
      const reply = await send(fd.port, { path: target });
      expect(reply.body.toString()).toBe(pool);
      const reached = pool === 'acts' ? acts : users;
      expect(reached.received[0].url).toBe(target);
    });

    test('an API path no pool owns is 404 and is not counted', async () => {
      const users = await backend('users');
      const balancer = new RoundRobinBalancer();
      balancer.add(users.port);
      balancer.setInRotation(users.port, true);
      const counted: string[] = [];
      const narrow = createFrontDoor({
        pools: [{ name: 'users', pathPrefixes: ['/api/v1/users'], balancer }],
        onCountedRequest: (pool) => counted.push(pool),
        logger: silentLogger,
      });
      await narrow.listen(0, '127.0.0.1');
      cleanups.push(() => narrow.close());
      const reply = await send((narrow.server.address() as AddressInfo).port, { path: '/api/v1/acts' });
      expect(reply.status).toBe(404);
      expect(counted).toEqual([]);
      expect(users.arrivals).toBe(0);
    });

    test('non-API paths are never forwarded', async () => {
      const acts = await backend('acts');
      const fd = await start({ acts: [acts.port] });
      for (const target of ['/', '/index.html', '/api/v1', '/api/v2/acts', '/api', '/favicon.ico'])
        await send(fd.port, { path: target });
      expect(acts.arrivals).toBe(0);
    });

    test('a 503 from an empty rotation is still answered through the front door', async () => {
      const fd = await start({});
      const reply = await send(fd.port, { path: '/api/v1/acts' });
      expect(reply.status).toBe(503);
      expect(reply.headers['retry-after']).toBeDefined();
    });

    test('a refused replica is reported through onReplicaFailed and the request is served by the next one', async () => {
      const acts = await backend('acts');
      const refused = await new Promise<number>((resolve) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => {
          const { port } = s.address() as AddressInfo;
          s.close(() => resolve(port));
        });
      });
      const balancer = new RoundRobinBalancer();
      for (const port of [refused, acts.port]) {
        balancer.add(port);
        balancer.setInRotation(port, true);
      }
      if (acts.port < refused) balancer.next();
      const reports: Array<[string, number]> = [];
      const frontDoor = createFrontDoor({
        pools: [{ name: 'acts', pathPrefixes: ['/api/v1/'], balancer }],
        onReplicaFailed: (pool, port) => reports.push([pool, port]),
        logger: silentLogger,
      });
      await frontDoor.listen(0, '127.0.0.1');
      cleanups.push(() => frontDoor.close());
      const reply = await send((frontDoor.server.address() as AddressInfo).port, { path: '/api/v1/acts' });
      expect(reply.body.toString()).toBe('acts');
      expect(reports).toEqual([['acts', refused]]);
    });
  });

  describe('counting', () => {
    test('every API request counts toward its pool except health probes and the crash switch', async () => {
      const acts = await backend('acts');
      const users = await backend('users');
      const fd = await start({ acts: [acts.port], users: [users.port] });
      const targets = [
        '/api/v1/acts',
        '/api/v1/users/alice',
        '/api/v1/_health',
        '/api/v1/_health?deep=1',
        '/api/v1/_crash',
        '/api/v1/_count',
        '/api/v1/categories/a/acts?start=1&end=3',
        '/',
        '/index.html',
        '/api/v1',
      ];
      for (const target of targets)
        await send(fd.port, { path: target, method: target.endsWith('_crash') ? 'POST' : 'GET' });
      expect(fd.counted).toEqual(['acts', 'users', 'acts', 'acts']);
    });

    test('a request answered 503 still counts: it reached the orchestrator', async () => {
      const fd = await start({});
      await send(fd.port, { path: '/api/v1/acts' });
      expect(fd.counted).toEqual(['acts']);
    });
  });

  // `/` is never forwarded, so a pool member in rotation needs nothing listening on its port.
  const SERVING = { acts: [1], users: [2] };

  describe('the health target /', () => {
    test('answers 503 while a pool has no replica in rotation, and 200 once it has one', async () => {
      const fd = await start({ acts: [1] });
      const down = await send(fd.port, { path: '/' });
      expect(down.status).toBe(503);
      fd.users.add(2);
      expect((await send(fd.port, { path: '/' })).status).toBe(503);
      fd.users.setInRotation(2, true);
      expect((await send(fd.port, { path: '/' })).status).toBe(200);
      fd.acts.setInRotation(1, false);
      expect((await send(fd.port, { path: '/' })).status).toBe(503);
    });

    test('answers 503 instead of the web UI while nothing can serve the API', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'front-door-health-'));
      try {
        writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>acts</title>');
        const fd = await start({ staticDir: dir });
        expect((await send(fd.port, { path: '/' })).status).toBe(503);
        // Other static files are still served: only the health target reflects the pools.
        expect((await send(fd.port, { path: '/index.html' })).status).toBe(200);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('asking / does not move the round-robin rotation', async () => {
      const first = await backend('first');
      const second = await backend('second');
      const fd = await start({ acts: [first.port, second.port], users: [2] });
      const seen: string[] = [];
      for (let i = 0; i < 2; i++) {
        seen.push((await send(fd.port, { path: '/api/v1/acts' })).body.toString());
        await send(fd.port, { path: '/' });
      }
      // Strict alternation: the health checks in between took no turn.
      expect([...seen].sort()).toEqual(['first', 'second']);
    });
  });

  describe('without a static directory', () => {
    test('/ answers 200 OK and other non-API paths 404', async () => {
      const fd = await start(SERVING);
      const root = await send(fd.port, { path: '/' });
      expect(root.status).toBe(200);
      expect(root.body.toString()).toBe('OK');
      expect((await send(fd.port, { path: '/app.js' })).status).toBe(404);
    });
  });

  describe('static files', () => {
    let dir: string;
    let staticDir: string;
    beforeAll(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'front-door-static-'));
      staticDir = path.join(dir, 'dist');
      mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
      writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>acts</title>');
      writeFileSync(path.join(staticDir, 'assets', 'app-J7WBJFXC.js'), 'console.log(1)');
      writeFileSync(path.join(staticDir, 'assets', 'style.css'), 'body{}');
      writeFileSync(path.join(staticDir, 'logo.svg'), '<svg/>');
      writeFileSync(path.join(staticDir, '.env'), 'SECRET=1');
      writeFileSync(path.join(dir, 'secret.txt'), 'outside the root');
      symlinkSync(path.join(dir, 'secret.txt'), path.join(staticDir, 'link.txt'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test('/ serves index.html, revalidated on every use', async () => {
      const fd = await start({ ...SERVING, staticDir });
      const reply = await send(fd.port, { path: '/' });
      expect(reply.status).toBe(200);
      expect(reply.body.toString()).toContain('<title>acts</title>');
      expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(reply.headers['cache-control']).toBe(REVALIDATE_CACHE);
      expect(fd.counted).toEqual([]);
    });

    test.each([
      ['/index.html', 'text/html; charset=utf-8', REVALIDATE_CACHE],
      ['/assets/app-J7WBJFXC.js', 'text/javascript; charset=utf-8', IMMUTABLE_CACHE],
      ['/assets/style.css', 'text/css; charset=utf-8', REVALIDATE_CACHE],
      ['/logo.svg', 'image/svg+xml', REVALIDATE_CACHE],
    ])('%s is served as %s with cache-control %s', async (target, type, cache) => {
      const fd = await start({ staticDir });
      const reply = await send(fd.port, { path: target });
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toBe(type);
      expect(reply.headers['cache-control']).toBe(cache);
    });

    test('an unchanged file answers 304 to a matching If-None-Match', async () => {
      const fd = await start({ staticDir });
      const first = await send(fd.port, { path: '/index.html' });
      const again = await send(fd.port, {
        path: '/index.html',
        headers: { 'if-none-match': String(first.headers.etag) },
      });
      expect(again.status).toBe(304);
      expect(again.body.length).toBe(0);
    });

    test('HEAD gives the headers without the body', async () => {
      const fd = await start({ staticDir });
      const reply = await send(fd.port, { path: '/index.html', method: 'HEAD' });
      expect(reply.status).toBe(200);
      expect(Number(reply.headers['content-length'])).toBeGreaterThan(0);
      expect(reply.body.length).toBe(0);
    });

    test('other methods on static paths are 405', async () => {
      const fd = await start({ staticDir });
      const reply = await send(fd.port, { path: '/index.html', method: 'POST', body: 'x' });
      expect(reply.status).toBe(405);
      expect(reply.headers.allow).toBe('GET, HEAD');
    });

    test.each(['/missing.js', '/assets/', '/assets', '/.env', '/link.txt'])('%s is 404', async (target) => {
      const fd = await start({ staticDir });
      const reply = await send(fd.port, { path: target });
      expect(reply.status).toBe(404);
      expect(reply.body.toString()).not.toContain('SECRET');
      expect(reply.body.toString()).not.toContain('outside the root');
    });

    test.each([
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/..%2fsecret.txt',
      '/..%5csecret.txt',
      '/%2e%2e%5csecret.txt',
      '/assets/%00../../secret.txt',
      '/%E0%A4%A',
      '//etc/passwd',
    ])('traversal attempt %s never leaves the root', async (target) => {
      const fd = await start({ staticDir });
      const reply = await rawGet(fd.port, target);
      expect([400, 404]).toContain(reply.status);
      expect(reply.body).not.toContain('outside the root');
      expect(reply.body).not.toContain('root:');
    });
  });

  describe('connections and shutdown', () => {
    test('clients keep their connection alive across requests', async () => {
      const acts = await backend('acts');
      const fd = await start({ acts: [acts.port] });
      let connections = 0;
      fd.frontDoor.server.on('connection', () => (connections += 1));
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = 0; i < 5; i++)
        expect((await send(fd.port, { path: '/api/v1/acts', agent })).status).toBe(200);
      agent.destroy();
      expect(connections).toBe(1);
    });

    test('close() stops accepting and lets the in-flight request finish with 200', async () => {
      const release = gate();
      const acts = await backend('acts', (_req, res) => {
        void release.promise.then(() => res.end('finished'));
      });
      const fd = await start({ acts: [acts.port] });
      const pending = send(fd.port, { path: '/api/v1/acts' });
      await eventually(() => acts.received.length === 1);

      let closed = false;
      const closing = fd.frontDoor.close().then(() => (closed = true));
      await eventually(() => !fd.frontDoor.server.listening);
      await expect(send(fd.port, { path: '/' })).rejects.toThrow();
      expect(closed).toBe(false);

      release.open();
      const reply = await pending;
      expect(reply.status).toBe(200);
      expect(reply.body.toString()).toBe('finished');
      await closing;
      expect(closed).toBe(true);
    });

    test('a malformed request gets 400 and the server keeps serving', async () => {
      const fd = await start(SERVING);
      const reply = await new Promise<string>((resolve) => {
        const socket = net.connect(fd.port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
        let text = '';
        socket.on('data', (d: Buffer) => (text += d.toString()));
        socket.on('error', () => {});
        socket.on('close', () => resolve(text));
      });
      expect(reply).toMatch(/^HTTP\/1\.1 400/);
      expect((await send(fd.port, { path: '/' })).status).toBe(200);
    });
  });
});
