import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { RoundRobinBalancer } from '../../orchestrator/balancer';
import { silentLogger } from '../../common/log';
import { SHORT_WRITE_BODY_BYTES, UpstreamProxy } from '../../orchestrator/proxy';
import type { ForwardTarget, ReplicaFailure, UpstreamProxyOptions } from '../../orchestrator/proxy';
import {
  closeServer,
  eventually,
  gate,
  refusedPort,
  send,
  sha256,
  startBackend,
} from '../support/proxy-servers';
import type { BackendHandler, TestBackend } from '../support/proxy-servers';

/** A proxy in front of a balancer, behind a bare http server: the hop alone, without routing or static files. */
interface Harness {
  port: number;
  balancer: RoundRobinBalancer;
  /** Refused connections reported, with their error code. */
  undeliverable: Array<{ pool: string; port: number; code: string | undefined }>;
  /** Every failure reported, refused or not. */
  failures: Array<{ port: number } & ReplicaFailure>;
  proxy: UpstreamProxy;
  close(): Promise<void>;
}

type HarnessOptions = Omit<UpstreamProxyOptions, 'logger'>;

async function proxyTo(ports: number[], options: HarnessOptions = {}): Promise<Harness> {
  const balancer = new RoundRobinBalancer();
  for (const port of ports) {
    balancer.add(port);
    balancer.setInRotation(port, true);
  }
  const undeliverable: Harness['undeliverable'] = [];
  const failures: Harness['failures'] = [];
  const target: ForwardTarget = {
    poolName: 'acts',
    targets: balancer,
    onReplicaFailed: (pool, port, failure) => {
      failures.push({ port, ...failure });
      if (failure.kind === 'refused') undeliverable.push({ pool, port, code: failure.detail });
    },
  };
  const proxy = new UpstreamProxy({ logger: silentLogger, ...options });
  const server = http.createServer((req, res) => proxy.forward(req, res, target));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    balancer,
    undeliverable,
    failures,
    proxy,
    close: async () => {
      await closeServer(server);
      await proxy.close();
    },
  };
}

const totalInFlight = (balancer: RoundRobinBalancer) =>
  balancer.snapshot().reduce((sum, m) => sum + m.inFlight, 0);

describe('proxy hop', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function backends(...handlers: Array<BackendHandler | undefined>): Promise<TestBackend[]> {
    const started = await Promise.all(handlers.map((h, i) => startBackend(`b${i}`, h)));
    for (const b of started) cleanups.push(() => b.close());
    return started;
  }

  async function harness(ports: number[], options?: HarnessOptions): Promise<Harness> {
    const h = await proxyTo(ports, options);
    cleanups.push(() => h.close());
    return h;
  }

  describe('strict round-robin', () => {
    test('with two replicas six requests land exactly 3 and 3, alternating', async () => {
      const [a, b] = await backends(undefined, undefined);
      const h = await harness([a.port, b.port]);
      const answers: string[] = [];
      for (let i = 0; i < 6; i++) answers.push((await send(h.port)).body.toString());
      const [low, high] = [a, b].sort((x, y) => x.port - y.port).map((x) => x.name);
      expect(answers).toEqual([low, high, low, high, low, high]);
      expect([a.received.length, b.received.length]).toEqual([3, 3]);
    });

    test('with three replicas nine requests land exactly 3, 3 and 3 in turn', async () => {
      const started = await backends(undefined, undefined, undefined);
      const h = await harness(started.map((b) => b.port));
      const answers: string[] = [];
      for (let i = 0; i < 9; i++) answers.push((await send(h.port)).body.toString());
      const byPort = [...started].sort((x, y) => x.port - y.port).map((b) => b.name);
      expect(answers).toEqual([...byPort, ...byPort, ...byPort]);
      expect(started.map((b) => b.received.length)).toEqual([3, 3, 3]);
    });

    test('concurrent requests are still shared exactly evenly', async () => {
      const [a, b] = await backends(undefined, undefined);
      const h = await harness([a.port, b.port]);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
      await Promise.all(Array.from({ length: 40 }, () => send(h.port, { agent })));
      agent.destroy();
      expect([a.received.length, b.received.length]).toEqual([20, 20]);
    });
  });

  describe('pass-through fidelity', () => {
    test('a 204 comes back with an empty body', async () => {
      const [a] = await backends((_req, res) => {
        res.writeHead(204, { 'x-kind': 'empty' });
        res.end();
      });
      const h = await harness([a.port]);
      const reply = await send(h.port, { method: 'DELETE' });
      expect(reply.status).toBe(204);
      expect(reply.body.length).toBe(0);
      expect(reply.headers['x-kind']).toBe('empty');
    });

    test.each([400, 404, 405, 500, 503])('a %i and its body pass through unchanged', async (status) => {
      const body = JSON.stringify({ status, detail: 'from the replica' });
      const [a] = await backends((_req, res) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
      });
      const h = await harness([a.port]);
      const reply = await send(h.port);
      expect(reply.status).toBe(status);
      expect(reply.body.toString()).toBe(body);
      expect(reply.headers['content-type']).toBe('application/json');
    });

    test('a 5 MB request body reaches the replica intact', async () => {
      const [a] = await backends((_req, res, received) =>
        res.end(`${received.bodyLength} ${received.bodySha256}`),
      );
      const h = await harness([a.port]);
      const upload = Buffer.alloc(5 * 1024 * 1024);
      for (let i = 0; i < upload.length; i++) upload[i] = (i * 31) & 0xff;
      const reply = await send(h.port, {
        method: 'POST',
        body: upload,
        headers: { 'content-type': 'application/octet-stream' },
      });
      expect(reply.body.toString()).toBe(`${upload.length} ${sha256(upload)}`);
    });

    test('a 5 MB chunked request body (no content-length) reaches the replica intact', async () => {
      const [a] = await backends((_req, res, received) =>
        res.end(`${received.bodyLength} ${received.bodySha256}`),
      );
      const h = await harness([a.port]);
      const piece = Buffer.alloc(64 * 1024, 7);
      const reply = await new Promise<string>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port: h.port, method: 'PUT', path: '/api/v1/upload' },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve(text));
          },
        );
        req.on('error', reject);
        for (let i = 0; i < 80; i++) req.write(piece);
        req.end();
      });
      expect(reply).toBe(`${80 * piece.length} ${sha256(Buffer.concat(Array(80).fill(piece)))}`);
    });

    test('a 5 MB response body reaches the client intact', async () => {
      const download = Buffer.alloc(5 * 1024 * 1024);
      for (let i = 0; i < download.length; i++) download[i] = (i * 17) & 0xff;
      const [a] = await backends((_req, res) => {
        res.writeHead(200, { 'content-length': download.length });
        res.end(download);
      });
      const h = await harness([a.port]);
      const reply = await send(h.port);
      expect(reply.body.length).toBe(download.length);
      expect(sha256(reply.body)).toBe(sha256(download));
    });

    test('method, path and query string reach the replica exactly as sent', async () => {
      const [a] = await backends(undefined);
      const h = await harness([a.port]);
      await send(h.port, { method: 'PATCH', path: '/api/v1/acts/12?a=1&b=%20x&a=2&empty=&q=%2F' });
      expect(a.received[0].method).toBe('PATCH');
      expect(a.received[0].url).toBe('/api/v1/acts/12?a=1&b=%20x&a=2&empty=&q=%2F');
    });

    test('end-to-end headers pass, hop-by-hop headers stop, X-Forwarded-* are added', async () => {
      const [a] = await backends((_req, res) => {
        res.setHeader('x-reply', 'yes');
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.setHeader('connection', 'keep-alive, x-reply-hop');
        res.setHeader('x-reply-hop', 'secret');
        res.end('ok');
      });
      const h = await harness([a.port]);
      const reply = await send(h.port, {
        headers: {
          host: 'acts.example',
          'x-custom': 'value',
          authorization: 'Bearer t',
          connection: 'keep-alive, x-hop-only',
          'x-hop-only': 'dropped',
          'keep-alive': 'timeout=5',
          te: 'trailers',
        },
      });
      const seen = a.received[0].headers;
      expect(seen['x-custom']).toBe('value');
      expect(seen.authorization).toBe('Bearer t');
      expect(seen.host).toBe('acts.example');
      expect(seen['x-hop-only']).toBeUndefined();
      expect(seen['keep-alive']).toBeUndefined();
      expect(seen.te).toBeUndefined();
      expect(seen['x-forwarded-for']).toBe('127.0.0.1');
      expect(seen['x-forwarded-proto']).toBe('http');
      expect(seen['x-forwarded-host']).toBe('acts.example');
      expect(reply.headers['x-reply']).toBe('yes');
      expect(reply.headers['set-cookie']).toEqual(['a=1', 'b=2']);
      expect(reply.headers['x-reply-hop']).toBeUndefined();
    });

    test('X-Forwarded-For set by a proxy in front is extended, its Proto and Host kept', async () => {
      const [a] = await backends(undefined);
      const h = await harness([a.port]);
      await send(h.port, {
        headers: {
          'x-forwarded-for': '203.0.113.9',
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'public.example',
        },
      });
      const seen = a.received[0].headers;
      expect(seen['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
      expect(seen['x-forwarded-proto']).toBe('https');
      expect(seen['x-forwarded-host']).toBe('public.example');
    });

    test('a client expecting 100-continue still gets its body delivered', async () => {
      const [a] = await backends((_req, res, received) => res.end(String(received.bodyLength)));
      const h = await harness([a.port]);
      const reply = await new Promise<string>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port: h.port,
            method: 'POST',
            path: '/api/v1/x',
            headers: { expect: '100-continue', 'content-length': 5 },
          },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve(text));
          },
        );
        req.on('continue', () => req.end('hello'));
        req.on('error', reject);
      });
      expect(reply).toBe('5');
      expect(a.received[0].headers.expect).toBeUndefined();
    });

    test('a HEAD answer keeps its headers and has no body', async () => {
      const [a] = await backends((_req, res) => {
        res.writeHead(200, { 'content-length': 42, 'content-type': 'application/json' });
        res.end();
      });
      const h = await harness([a.port]);
      const reply = await send(h.port, { method: 'HEAD' });
      expect(reply.status).toBe(200);
      expect(reply.headers['content-length']).toBe('42');
      expect(reply.body.length).toBe(0);
    });
  });

  describe('when replicas are missing or failing', () => {
    test('no replica in rotation answers 503 with Retry-After at once', async () => {
      const [a] = await backends(undefined);
      const h = await harness([a.port]);
      h.balancer.setInRotation(a.port, false);
      const reply = await send(h.port);
      expect(reply.status).toBe(503);
      expect(Number(reply.headers['retry-after'])).toBeGreaterThan(0);
      expect(a.arrivals).toBe(0);
    });

    test('an empty pool answers 503 with Retry-After', async () => {
      const h = await harness([]);
      const reply = await send(h.port);
      expect(reply.status).toBe(503);
      expect(reply.headers['retry-after']).toBeDefined();
    });

    test('a refused connection is retried once on the next replica, which answers; the refused port leaves the rotation', async () => {
      const dead = await refusedPort();
      const [alive] = await backends((_req, res, received) =>
        res.end(`${received.bodyLength} ${received.bodySha256}`),
      );
      const h = await harness([dead, alive.port]);
      const body = Buffer.from('a body that must arrive once, intact');
      // The first turn goes to the lowest port; make sure it is the refused one's.
      if (alive.port < dead) h.balancer.next();

      const reply = await send(h.port, { method: 'POST', body });
      expect(reply.status).toBe(200);
      expect(reply.body.toString()).toBe(`${body.length} ${sha256(body)}`);
      expect(alive.received).toHaveLength(1);
      expect(h.balancer.snapshot().find((m) => m.port === dead)?.inRotation).toBe(false);
      expect(h.undeliverable).toEqual([{ pool: 'acts', port: dead, code: 'ECONNREFUSED' }]);
      expect(totalInFlight(h.balancer)).toBe(0);

      // From then on every request goes to the live replica without another attempt on the dead one.
      for (let i = 0; i < 3; i++) expect((await send(h.port)).status).toBe(200);
      expect(h.undeliverable).toHaveLength(1);
    });

    test('the retry happens once only: two refusals in a row answer 502 and leave the third replica alone', async () => {
      const ports = [await refusedPort(), await refusedPort(), await refusedPort()].sort((x, y) => x - y);
      const h = await harness(ports);
      const reply = await send(h.port);
      expect(reply.status).toBe(502);
      expect(h.undeliverable.map((u) => u.port)).toEqual([ports[0], ports[1]]);
      expect(h.balancer.snapshot().map((m) => m.inRotation)).toEqual([false, false, true]);
    });

    test('a refused connection with no other replica in rotation answers 503', async () => {
      const dead = await refusedPort();
      const h = await harness([dead]);
      const reply = await send(h.port);
      expect(reply.status).toBe(503);
      expect(reply.headers['retry-after']).toBeDefined();
      expect(h.balancer.snapshot()[0].inRotation).toBe(false);
    });

    test('a POST whose replica resets the connection gets 502, is not sent elsewhere, and the replica leaves the rotation', async () => {
      const [a, b] = await backends((req) => req.socket.destroy(), undefined);
      const h = await harness([a.port, b.port]);
      if (b.port < a.port) h.balancer.next(); // the resetting replica takes the next turn
      const reply = await send(h.port, { method: 'POST', body: 'once' });
      expect(reply.status).toBe(502);
      expect(a.arrivals).toBe(1);
      expect(b.arrivals).toBe(0);
      expect(h.balancer.isInRotation(a.port)).toBe(false);
      expect(h.balancer.isInRotation(b.port)).toBe(true);
      expect(h.failures).toEqual([
        { port: a.port, kind: 'reset', detail: expect.any(String), ejected: true },
      ]);
      expect(totalInFlight(h.balancer)).toBe(0);
    });

    test('a replica that dies after sending headers makes the client see a broken response, not a complete one', async () => {
      const [a] = await backends((req, res) => {
        if (req.url !== '/api/v1/break') return void res.end('fine');
        res.writeHead(200, { 'content-length': 100_000 });
        res.write('partial', () => req.socket.destroy());
      });
      const h = await harness([a.port]);
      await expect(send(h.port, { path: '/api/v1/break' })).rejects.toThrow();
      await eventually(() => totalInFlight(h.balancer) === 0);
      expect((await send(h.port)).body.toString()).toBe('fine');
      expect(a.arrivals).toBe(2);
    });

    test('a replica that never answers gets 504 after the headers timeout', async () => {
      const [a] = await backends(() => {
        /* never answers */
      });
      const h = await harness([a.port], { headersTimeoutMs: 200 });
      const reply = await send(h.port);
      expect(reply.status).toBe(504);
      expect(totalInFlight(h.balancer)).toBe(0);
    });
  });

  describe('safe retries and passive health', () => {
    const fail500: BackendHandler = (_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"crashed":true}');
    };
    const reset: BackendHandler = (req) => req.socket.destroy();

    /** Two backends with the failing one taking the next turn. */
    async function failingFirst(failing: BackendHandler, options?: { retryIdempotent?: boolean }) {
      const [bad, good] = await backends(failing, undefined);
      const h = await harness([bad.port, good.port], options);
      if (good.port < bad.port) h.balancer.next();
      return { bad, good, h };
    }

    test('a GET whose replica resets the connection is answered by the other replica, and the resetting one leaves the rotation', async () => {
      const { bad, good, h } = await failingFirst(reset);
      const reply = await send(h.port);
      expect(reply.status).toBe(200);
      expect(reply.body.toString()).toBe(good.name);
      expect([bad.arrivals, good.arrivals]).toEqual([1, 1]);
      expect(h.balancer.isInRotation(bad.port)).toBe(false);
      expect(h.failures).toEqual([
        { port: bad.port, kind: 'reset', detail: expect.any(String), ejected: true },
      ]);
      expect(totalInFlight(h.balancer)).toBe(0);
    });

    test('a HEAD whose replica answers 500 is answered by the other replica', async () => {
      const { bad, good, h } = await failingFirst(fail500);
      const reply = await send(h.port, { method: 'HEAD' });
      expect(reply.status).toBe(200);
      expect([bad.arrivals, good.arrivals]).toEqual([1, 1]);
      expect(h.failures).toEqual([{ port: bad.port, kind: 'status', detail: 'answered 500', ejected: true }]);
    });

    test('a GET whose replica answers 500 gets the other replica’s answer, with nothing of the first one mixed in', async () => {
      const { bad, good, h } = await failingFirst(fail500);
      const reply = await send(h.port);
      expect(reply.status).toBe(200);
      expect(reply.body.toString()).toBe(good.name);
      expect([bad.arrivals, good.arrivals]).toEqual([1, 1]);
      expect(h.balancer.isInRotation(bad.port)).toBe(false);
      await eventually(() => totalInFlight(h.balancer) === 0);
    });

    test('a POST answered 500 is not sent again: the client gets the 500 and the replica leaves the rotation', async () => {
      const { bad, good, h } = await failingFirst(fail500);
      const reply = await send(h.port, { method: 'POST', body: 'once' });
      expect(reply.status).toBe(500);
      expect(reply.body.toString()).toBe('{"crashed":true}');
      expect([bad.arrivals, good.arrivals]).toEqual([1, 0]);
      expect(h.balancer.isInRotation(bad.port)).toBe(false);
    });

    test('a GET is tried on two replicas at most, never twice on one: with three failing replicas the second 500 reaches the client', async () => {
      const all = await backends(fail500, fail500, fail500);
      const h = await harness(all.map((b) => b.port));
      const reply = await send(h.port);
      expect(reply.status).toBe(500);
      expect(all.map((b) => b.arrivals).sort()).toEqual([0, 1, 1]);
    });

    test('the last replica in rotation answering 500 stays in rotation, and its 500 passes through', async () => {
      const [only] = await backends(fail500);
      const h = await harness([only.port]);
      const reply = await send(h.port);
      expect(reply.status).toBe(500);
      expect(only.arrivals).toBe(1);
      expect(h.balancer.isInRotation(only.port)).toBe(true);
      expect(h.failures).toEqual([
        { port: only.port, kind: 'status', detail: 'answered 500', ejected: false },
      ]);
    });

    test('a 503 (a replica shedding load) is neither retried nor a reason to leave the rotation', async () => {
      const { bad, good, h } = await failingFirst((_req, res) => {
        res.writeHead(503, { 'retry-after': '1' });
        res.end();
      });
      const reply = await send(h.port);
      expect(reply.status).toBe(503);
      expect([bad.arrivals, good.arrivals]).toEqual([1, 0]);
      expect(h.balancer.isInRotation(bad.port)).toBe(true);
      expect(h.failures).toEqual([]);
    });

    test('with retries off a GET whose replica resets gets 502, and the replica still leaves the rotation', async () => {
      const { bad, good, h } = await failingFirst(reset, { retryIdempotent: false });
      const reply = await send(h.port);
      expect(reply.status).toBe(502);
      expect([bad.arrivals, good.arrivals]).toEqual([1, 0]);
      expect(h.balancer.isInRotation(bad.port)).toBe(false);
    });

    test('round robin stays strict when nothing fails: 6 GETs over 2 replicas land 3 and 3 with retries on', async () => {
      const [a, b] = await backends(undefined, undefined);
      const h = await harness([a.port, b.port]);
      for (let i = 0; i < 6; i++) expect((await send(h.port)).status).toBe(200);
      expect([a.arrivals, b.arrivals]).toEqual([3, 3]);
    });
  });

  describe('client aborts', () => {
    test('a client hanging up while the replica works aborts the upstream request and frees the slot', async () => {
      let upstreamClosed = false;
      const [a] = await backends((_req, res) => {
        res.on('close', () => (upstreamClosed = true));
      });
      const h = await harness([a.port]);
      const socket = net.connect(h.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write('GET /api/v1/slow HTTP/1.1\r\nHost: x\r\n\r\n');
      await eventually(() => a.received.length === 1);
      expect(totalInFlight(h.balancer)).toBe(1);
      socket.destroy();
      await eventually(() => upstreamClosed && totalInFlight(h.balancer) === 0);
    });

    test('a client hanging up mid-upload frees the slot and the proxy keeps serving', async () => {
      const [a] = await backends(undefined);
      const h = await harness([a.port]);
      const socket = net.connect(h.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write('POST /api/v1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n');
      socket.write(Buffer.alloc(100_000, 1));
      await eventually(() => a.arrivals === 1);
      socket.destroy();
      await eventually(() => totalInFlight(h.balancer) === 0);
      expect(a.received).toHaveLength(0);
      expect((await send(h.port)).status).toBe(200);
    });

    test('a client hanging up mid-upload is not held against the replica: it stays in rotation', async () => {
      const [a, b] = await backends(undefined, undefined);
      const h = await harness([a.port, b.port]);
      const socket = net.connect(h.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write('POST /api/v1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n');
      socket.write(Buffer.alloc(100_000, 1));
      await eventually(() => a.arrivals + b.arrivals === 1);
      socket.destroy();
      await eventually(() => totalInFlight(h.balancer) === 0);
      expect(h.failures).toEqual([]);
      expect([h.balancer.isInRotation(a.port), h.balancer.isInRotation(b.port)]).toEqual([true, true]);
    });

    test('a client hanging up mid-download frees the slot and the proxy keeps serving', async () => {
      const big = Buffer.alloc(8 * 1024 * 1024, 3);
      const [a] = await backends((req, res) => {
        if (req.url === '/api/v1/big') res.end(big);
        else res.end('small');
      });
      const h = await harness([a.port]);
      const socket = net.connect(h.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write('GET /api/v1/big HTTP/1.1\r\nHost: x\r\n\r\n');
      await new Promise((resolve) => socket.once('data', resolve));
      socket.destroy();
      await eventually(() => totalInFlight(h.balancer) === 0);
      expect((await send(h.port)).body.toString()).toBe('small');
    });

    test('many aborted requests leave nothing in flight', async () => {
      const [a, b] = await backends(
        (_req, res) => setImmediate(() => res.end('a')),
        (_req, res) => setImmediate(() => res.end('b')),
      );
      const h = await harness([a.port, b.port]);
      await Promise.all(
        Array.from(
          { length: 50 },
          (_, i) =>
            new Promise<void>((resolve) => {
              const socket = net.connect(h.port, '127.0.0.1', () => {
                socket.write(`GET /api/v1/${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
                if (i % 2 === 0) socket.destroy();
                else setImmediate(() => socket.destroy());
              });
              socket.on('error', () => {});
              socket.on('close', () => resolve());
            }),
        ),
      );
      await eventually(() => totalInFlight(h.balancer) === 0);
      expect((await send(h.port)).status).toBe(200);
    });
  });

  describe('connections per replica: reads are not queued behind writes', () => {
    /** A replica that holds every request until the test answers it, and records the order they came in. */
    async function holdingBackend(): Promise<{
      backend: TestBackend;
      held: Array<() => void>;
      order: string[];
    }> {
      const held: Array<() => void> = [];
      const order: string[] = [];
      const [backend] = await backends((req, res) => {
        order.push(`${req.method} ${req.url}`);
        held.push(() => res.end(req.url));
      });
      return { backend, held, order };
    }

    const post = (port: number, path: string) => send(port, { method: 'POST', path, body: 'wrong password' });

    test('with the write connections all held by slow POSTs, a GET takes a reserved one and is answered while the POSTs keep waiting', async () => {
      const { backend, held, order } = await holdingBackend();
      const h = await harness([backend.port], { connectionsPerReplica: 3, connectionsReservedForReads: 1 });
      const posts = ['/p1', '/p2', '/p3', '/p4'].map((path) => post(h.port, path));
      await eventually(() => totalInFlight(h.balancer) === 4 && order.length === 2);

      // Two POSTs hold the write connections, two wait; the GET arriving last goes in next.
      const get = send(h.port, { path: '/g1' });
      await eventually(() => order.length === 3);
      expect(order[2]).toBe('GET /g1');
      held[2]();
      const answered = await get;
      expect([answered.status, answered.body.toString()]).toEqual([200, '/g1']);
      expect(order).toHaveLength(3);

      // The waiting POSTs then go in as connections free up, and every one is answered.
      held[0]();
      await eventually(() => order.length === 4);
      held[1]();
      await eventually(() => order.length === 5);
      held[3]();
      held[4]();
      const replies = await Promise.all(posts);
      expect(replies.map((r) => `${r.status} ${r.body.toString()}`)).toEqual([
        '200 /p1',
        '200 /p2',
        '200 /p3',
        '200 /p4',
      ]);
      expect(order.filter((o) => o.startsWith('POST')).sort()).toEqual([
        'POST /p1',
        'POST /p2',
        'POST /p3',
        'POST /p4',
      ]);
      expect(totalInFlight(h.balancer)).toBe(0);
    });

    test('when every connection is taken, a waiting GET goes in before a POST that has waited longer', async () => {
      const { backend, held, order } = await holdingBackend();
      const h = await harness([backend.port], { connectionsPerReplica: 2, connectionsReservedForReads: 1 });
      const post1 = post(h.port, '/p1');
      await eventually(() => order.length === 1);
      const get1 = send(h.port, { path: '/g1' });
      await eventually(() => order.length === 2);
      const post2 = post(h.port, '/p2');
      await eventually(() => totalInFlight(h.balancer) === 3);
      const get2 = send(h.port, { path: '/g2' });
      await eventually(() => totalInFlight(h.balancer) === 4);

      // The GET frees a connection: the waiting GET takes it, the older POST still waits.
      held[1]();
      expect((await get1).body.toString()).toBe('/g1');
      await eventually(() => order.length === 3);
      expect(order).toEqual(['POST /p1', 'GET /g1', 'GET /g2']);
      held[2]();
      expect((await get2).body.toString()).toBe('/g2');

      held[0]();
      await eventually(() => order.length === 4);
      held[3]();
      expect([(await post1).body.toString(), (await post2).body.toString()]).toEqual(['/p1', '/p2']);
      expect(order).toEqual(['POST /p1', 'GET /g1', 'GET /g2', 'POST /p2']);
    });

    test('past the short-write limit, sign-ins wait in the front door rather than at the replica; reads still go straight in', async () => {
      const { backend, held, order } = await holdingBackend();
      const h = await harness([backend.port], {
        connectionsPerReplica: 8,
        connectionsReservedForReads: 1,
        shortWritesPerReplica: 2,
      });
      const posts = ['/p1', '/p2', '/p3', '/p4'].map((path) => post(h.port, path));
      await eventually(() => totalInFlight(h.balancer) === 4 && order.length === 2);
      const get = send(h.port, { path: '/g1' });
      await eventually(() => order.length === 3);
      expect(order).toEqual(['POST /p1', 'POST /p2', 'GET /g1']);
      held[2]();
      expect((await get).body.toString()).toBe('/g1');

      // Each answered sign-in lets the next one in, never more than two at the replica.
      held[0]();
      await eventually(() => order.length === 4);
      expect(order[3]).toBe('POST /p3');
      held[1]();
      await eventually(() => order.length === 5);
      held[3]();
      held[4]();
      const replies = await Promise.all(posts);
      expect(replies.map((r) => `${r.status} ${r.body.toString()}`)).toEqual([
        '200 /p1',
        '200 /p2',
        '200 /p3',
        '200 /p4',
      ]);
      expect(totalInFlight(h.balancer)).toBe(0);
    });

    test('slow uploads cannot take the connections of short writes', async () => {
      const [backend] = await backends(undefined);
      const h = await harness([backend.port], {
        connectionsPerReplica: 4,
        connectionsReservedForReads: 1,
        shortWritesPerReplica: 1,
      });
      // Two uploads may be in flight (4 - 1 for reads - 1 for short writes); each sends its
      // headers and a little of its body, then stalls.
      const uploads = Array.from({ length: 3 }, () => {
        const socket = net.connect(h.port, '127.0.0.1');
        socket.on('error', () => {});
        socket.write(
          `POST /api/v1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${SHORT_WRITE_BODY_BYTES + 1}\r\n\r\nab`,
        );
        return socket;
      });
      try {
        await eventually(() => totalInFlight(h.balancer) === 3 && backend.arrivals === 2);
        // A short write still gets its own connection and is answered.
        const vote = await send(h.port, { method: 'POST', path: '/api/v1/vote', body: '[1]' });
        expect([vote.status, vote.body.toString()]).toEqual([200, backend.name]);
        // The third upload still waits for an upload's connection.
        expect(backend.arrivals).toBe(3);
        expect(backend.received.map((r) => r.url)).toEqual(['/api/v1/vote']);
      } finally {
        for (const socket of uploads) socket.destroy();
      }
      await eventually(() => totalInFlight(h.balancer) === 0);
    });

    test('a request whose client hangs up while it waits is never sent, and gives its place up', async () => {
      const { backend, held, order } = await holdingBackend();
      const h = await harness([backend.port], { connectionsPerReplica: 2, connectionsReservedForReads: 1 });
      const post1 = post(h.port, '/p1');
      await eventually(() => order.length === 1);
      const socket = net.connect(h.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write('POST /gone HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx');
      await eventually(() => totalInFlight(h.balancer) === 2);
      socket.destroy();
      await eventually(() => totalInFlight(h.balancer) === 1);

      held[0]();
      expect((await post1).status).toBe(200);
      const post3 = post(h.port, '/p3');
      await eventually(() => order.length === 2);
      held[1]();
      expect((await post3).body.toString()).toBe('/p3');
      expect(order).toEqual(['POST /p1', 'POST /p3']);
      expect(totalInFlight(h.balancer)).toBe(0);
    });
  });

  describe("a replica's connections once it has left", () => {
    const connectionsTo = (backend: TestBackend) =>
      new Promise<number>((resolve, reject) =>
        backend.server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
      );
    const untilConnections = async (backend: TestBackend, n: number) => {
      while ((await connectionsTo(backend)) !== n) await new Promise((resolve) => setTimeout(resolve, 5));
    };

    test('are closed after its last in-flight request is answered, and a replica that stays keeps its own', async () => {
      const held = gate();
      // Either backend holds a request to HELD; any other is answered with the backend's port.
      const HELD = '/api/v1/held';
      const holdOrAnswer: BackendHandler = (req, res) =>
        req.url === HELD
          ? void held.promise.then(() => res.end('answered after leaving'))
          : res.end(String(res.socket?.localPort));
      // The rotation goes in port order, so the lower port takes the first request and leaves.
      const [leaving, staying] = (await backends(holdOrAnswer, holdOrAnswer)).sort((x, y) => x.port - y.port);
      const h = await harness([leaving.port, staying.port]);
      const agent = new http.Agent({ keepAlive: true });
      const inFlight = send(h.port, { agent, path: HELD });
      await eventually(() => leaving.received.length === 1);
      expect((await send(h.port, { agent })).body.toString()).toBe(String(staying.port));
      expect(h.proxy.replicaPorts.sort()).toEqual([leaving.port, staying.port].sort());

      // Scaled down: out of rotation, then gone from the balancer, with its request still running.
      h.balancer.setInRotation(leaving.port, false);
      h.balancer.remove(leaving.port);
      expect(await connectionsTo(leaving)).toBe(1);
      expect(h.proxy.replicaPorts).toContain(leaving.port);

      held.open();
      const reply = await inFlight;
      expect([reply.status, reply.body.toString()]).toEqual([200, 'answered after leaving']);
      await eventually(() => !h.proxy.replicaPorts.includes(leaving.port));
      await untilConnections(leaving, 0);
      expect(await connectionsTo(staying)).toBe(1);
      expect(h.proxy.replicaPorts).toEqual([staying.port]);
      agent.destroy();
    });

    test('are closed for a replica that left while idle, and one that comes back is served afresh', async () => {
      const [a, b] = await backends(undefined, undefined);
      const h = await harness([a.port, b.port], { sweepIntervalMs: 20 });
      const agent = new http.Agent({ keepAlive: true });
      await send(h.port, { agent });
      await send(h.port, { agent });
      expect(await connectionsTo(a)).toBe(1);

      h.balancer.setInRotation(a.port, false);
      await eventually(() => !h.proxy.replicaPorts.includes(a.port));
      await untilConnections(a, 0);

      h.balancer.setInRotation(a.port, true);
      const answers = [
        (await send(h.port, { agent })).body.toString(),
        (await send(h.port, { agent })).body.toString(),
      ];
      expect(answers.sort()).toEqual([a.name, b.name].sort());
      expect(await connectionsTo(a)).toBe(1);
      agent.destroy();
    });
  });

  describe('draining', () => {
    test('whenDrained resolves only after the slow in-flight request completed with 200', async () => {
      const release = gate();
      const [a] = await backends((_req, res) => {
        void release.promise.then(() => res.end('slow but fine'));
      });
      const h = await harness([a.port]);
      const pending = send(h.port);
      await eventually(() => a.received.length === 1);

      h.balancer.setInRotation(a.port, false);
      const events: string[] = [];
      const drained = h.balancer.whenDrained(a.port).then(() => events.push('drained'));
      const replied = pending.then((reply) => events.push(`reply ${reply.status}`));
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(events).toEqual([]);

      release.open();
      await Promise.all([drained, replied]);
      expect(events).toContain('drained');
      expect(events).toContain('reply 200');
      expect((await pending).body.toString()).toBe('slow but fine');
      expect(h.balancer.snapshot()[0].inFlight).toBe(0);
    });
  });
});
