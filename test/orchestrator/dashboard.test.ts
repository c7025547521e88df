/**
 * The admin address's dashboard against a whole orchestrator over the fake service (real
 * processes, real sockets): the page under its Content-Security-Policy, the event stream
 * pushing each event once with `/status` to catch up from, the traffic history, and no
 * configured secret in any admin response or log line.
 */
import http from 'node:http';
import { DASHBOARD_CSP, type OrchestratorStatus } from '../../orchestrator/admin';
import type { NumberedEvent } from '../../orchestrator/dashboard-feed';
import type { TrafficSample } from '../../orchestrator/traffic-history';
import { eventually, request, startTestOrchestrator, type TestOrchestrator } from './helpers';

jest.setTimeout(60_000);

const PASSWORD = 'Zq7-never-shown-9xT';
const DATABASE_URL = `mysql://app:${PASSWORD}@127.0.0.1:3306/selfieless_acts`;

interface Stream {
  text(): string;
  messages(): Array<{ event: string; id?: string; data: string }>;
  close(): void;
}

/** An SSE client that keeps everything it received. */
function openStream(port: number, host = '127.0.0.1'): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/events', agent: false }, (res) => {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('error', () => undefined);
      resolve({
        text: () => text,
        messages: () =>
          text
            .split('\n\n')
            .filter((block) => block.includes('data: '))
            .map((block) => {
              const fields = Object.fromEntries(
                block
                  .split('\n')
                  .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
              ) as Record<string, string>;
              return {
                event: fields.event ?? 'message',
                ...(fields.id ? { id: fields.id } : {}),
                data: fields.data!,
              };
            }),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}

const changes = (stream: Stream): NumberedEvent[] =>
  stream
    .messages()
    .filter((m) => m.event === 'change')
    .map((m) => JSON.parse(m.data) as NumberedEvent);

describe('the dashboard on the admin address', () => {
  let t: TestOrchestrator;
  let admin: number;
  const streams: Stream[] = [];
  const open = async (host?: string) => {
    const stream = await openStream(admin, host);
    streams.push(stream);
    return stream;
  };

  beforeAll(async () => {
    t = await startTestOrchestrator({ env: { DATABASE_URL, FAKE_NOTE: 'plain' } }, { windowSeconds: 4 });
    admin = t.orchestrator.adminPort;
    await eventually(() => t.pool().replicas[0]?.inRotation);
  });

  afterAll(async () => {
    for (const s of streams) s.close();
    await t?.stop();
  });

  test('serves the page, its script and its style under a strict Content-Security-Policy', async () => {
    const page = await request(admin, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script defer src="/dashboard.js"></script>');
    for (const [path, type] of [
      ['/', 'text/html'],
      ['/dashboard.js', 'text/javascript'],
      ['/dashboard.css', 'text/css'],
      ['/favicon.svg', 'image/svg+xml'],
    ]) {
      const res = await fetch(`http://127.0.0.1:${admin}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect(res.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect((await res.text()).length).toBeGreaterThan(50);
    }
    expect(DASHBOARD_CSP).toMatch(/default-src 'none'/);
    expect(DASHBOARD_CSP).not.toMatch(/unsafe/);
  });

  test('is read-only, and a loopback-bound address answers no foreign Host (DNS rebinding)', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      expect((await request(admin, method, '/')).status).toBe(405);
      expect((await request(admin, method, '/status')).status).toBe(405);
    }
    const foreign = await new Promise<number>((resolve, reject) =>
      http
        .get(
          { host: '127.0.0.1', port: admin, path: '/status', headers: { host: 'attacker.example:9090' } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        )
        .on('error', reject),
    );
    expect(foreign).toBe(421);
    const local = await fetch(`http://localhost:${admin}/status`).catch(() => undefined);
    if (local) expect(local.status).toBe(200);
  });

  test('pushes every event once on /events, and /status holds the same events to catch up from', async () => {
    const stream = await open();
    const before = (await request(admin, 'GET', '/status')).json<OrchestratorStatus>();
    const oldId = before.pools[0]!.replicas[0]!.id;
    expect((await request(t.firstPort, 'POST', '/api/v1/_crash')).status).toBe(200);

    const replaced = await eventually(() => changes(stream).find((e) => e.kind === 'replaced'));
    expect(replaced.id).not.toBe(oldId);
    expect(replaced.reason).toMatch(/unhealthy: health probe answered 500/);
    const unhealthy = changes(stream).find((e) => e.kind === 'unhealthy')!;
    expect(unhealthy).toMatchObject({ port: t.firstPort, id: oldId });
    await eventually(() => changes(stream).some((e) => e.kind === 'healthy' && e.id === replaced.id));

    // Numbered without gaps or repeats, and exactly the events /status lists after the old ones.
    const pushed = changes(stream);
    const seqs = pushed.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    expect(seqs[0]).toBe(before.events.at(-1)!.seq + 1);
    const after = (await request(admin, 'GET', '/status')).json<OrchestratorStatus>();
    expect(after.events.filter((e) => e.seq >= seqs[0]!).slice(0, pushed.length)).toEqual(pushed);

    // The stream also carries the status after each change, with the new replica in it.
    const statuses = stream.messages().filter((m) => m.event === 'status');
    expect(statuses.length).toBeGreaterThan(0);
    const streamed = JSON.parse(statuses.at(-1)!.data) as Partial<OrchestratorStatus>;
    expect(streamed.startedAt).toBe(before.startedAt);
    // Without the events, which the stream pushes on their own.
    expect(streamed.events).toBeUndefined();

    // A stream opened later starts with nothing old: it catches up from /status, not by replay.
    const late = await open();
    await new Promise((r) => setTimeout(r, 300));
    expect(changes(late)).toEqual([]);
  });

  test('the scaling window shows its last decision, and the history counts traffic and the 5xx of the front door', async () => {
    await eventually(() => t.pool().replicas.every((r) => r.inRotation) && t.pool().replicas.length === 1);
    // 25 counted requests: the window ending 4 s after the first asks for 2 replicas.
    await Promise.all(Array.from({ length: 25 }, () => t.front('GET', '/api/v1/anything')));
    const decided = await eventually(() => t.pool().window?.lastDecision ?? undefined);
    expect(decided).toMatchObject({ count: 25, desired: 2 });
    expect(decided.reason).toBe('25 counted requests: floor(25/20)+1 within 1..4 = 2 replicas');
    // What it did (the next, empty window shrinks the pool again, so this is not waited on).
    const scaled = await eventually(async () =>
      (await request(admin, 'GET', '/status'))
        .json<OrchestratorStatus>()
        .events.find((e) => e.kind === 'scaled'),
    );
    expect(scaled.reason).toBe('1 → 2 replicas: window ended with 25 counted requests');

    // A crashed replica answers 500 to everything; through the front door those are 5xx.
    const [first] = t.pool().replicas;
    await request(first!.port, 'POST', '/api/v1/_crash');
    for (let i = 0; i < 4; i++) await t.front('GET', '/api/v1/anything');
    const history = await eventually(async () => {
      const h = (await request(admin, 'GET', '/history')).json<{ samples: TrafficSample[] }>();
      const total = (key: 'requests' | 'errors') => h.samples.reduce((n, s) => n + s[key], 0);
      return total('requests') >= 29 && total('errors') >= 1 && h;
    });
    expect(history.samples.some((s) => s.replicas.fake === 2)).toBe(true);
    for (const [a, b] of history.samples.slice(1).map((s, i) => [history.samples[i]!, s] as const))
      expect(b.t).toBeGreaterThan(a.t);
  });

  test('the password in DATABASE_URL never appears in any admin response or log line', async () => {
    const stream = streams[0]!;
    const status = (await request(admin, 'GET', '/status')).json<OrchestratorStatus>();
    // The environment is there, redacted: the test would see a leak if there were one.
    expect(status.pools[0]!.env).toEqual({
      DATABASE_URL: 'mysql://app:***@127.0.0.1:3306/***',
      FAKE_NOTE: '***',
    });
    const bodies: string[] = [stream.text()];
    for (const path of [
      '/',
      '/dashboard.js',
      '/dashboard.css',
      '/favicon.svg',
      '/status',
      '/metrics',
      '/history',
      '/nope',
    ])
      bodies.push((await request(admin, 'GET', path)).body);
    const logLines = t.logs.map((line) => JSON.stringify(line));
    expect(logLines.length).toBeGreaterThan(10);
    expect(stream.text().length).toBeGreaterThan(1000);
    for (const text of [...bodies, ...logLines]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(encodeURIComponent(PASSWORD));
    }
  });
});
