import net from 'node:net';
import os from 'node:os';
import { parseConfig } from '../../orchestrator/config';
import { silentLogger } from '../../common/log';
import { ListenError, startOrchestrator } from '../../orchestrator/orchestrator';
import { createProcessRuntime } from '../../orchestrator/process-runtime';
import {
  allInRotation,
  eventually,
  isListening,
  processAlive,
  request,
  startTestOrchestrator,
  type TestOrchestrator,
} from './helpers';

jest.setTimeout(60_000);

const pidOf = (id: string | null) => Number(id!.slice(4));

describe('orchestrator over real processes: start, rotation, replacement', () => {
  let t: TestOrchestrator | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  test('starts exactly one replica on the first port, which joins rotation once healthy', async () => {
    t = await startTestOrchestrator();
    const pool = await allInRotation(t, [t.firstPort]);
    expect(pool.replicas[0]).toMatchObject({
      port: t.firstPort,
      id: expect.stringMatching(/^pid:/),
      health: 'healthy',
      restarts: 0,
    });
    expect(pool.desiredReplicas).toBe(1);
    expect(pool.window).toMatchObject({ count: 0, windowsCompleted: 0 });
    const reply = await t.front('GET', '/api/v1/hello?x=1');
    expect(reply.status).toBe(200);
    expect(reply.json()).toMatchObject({ port: t.firstPort, method: 'GET', url: '/api/v1/hello?x=1' });
  });

  test('/ is answered by the front door itself, not forwarded and not counted', async () => {
    t = await startTestOrchestrator();
    await allInRotation(t, [t.firstPort]);
    const root = await t.front('GET', '/');
    expect(root.status).toBe(200);
    expect(root.body).toBe('OK');
    expect((await request(t.firstPort, 'GET', '/api/v1/_count')).json()).toEqual([0]);
    expect(t.pool().countedRequests).toBe(0);
  });

  test.each([2, 3])(
    'strict round-robin over %i replicas: every replica gets exactly its share, in turn',
    async (n) => {
      t = await startTestOrchestrator({ minReplicas: n, maxReplicas: n, autoscale: false });
      const ports = Array.from({ length: n }, (_, i) => t!.firstPort + i);
      await allInRotation(t, ports);
      for (const port of ports) await request(port, 'DELETE', '/api/v1/_count');
      const served: number[] = [];
      for (let i = 0; i < 3 * n; i++)
        served.push((await t.front('GET', '/api/v1/who')).json<{ port: number }>().port);
      for (const port of ports) expect((await request(port, 'GET', '/api/v1/_count')).json()).toEqual([3]);
      // Alternating: each window of n consecutive requests covers every replica once.
      for (let i = 0; i + n <= served.length; i++) expect(new Set(served.slice(i, i + n)).size).toBe(n);
    },
  );

  test('a crashed replica (5xx health) is replaced on the same port by a new process that rejoins rotation', async () => {
    t = await startTestOrchestrator({ minReplicas: 2, maxReplicas: 2, autoscale: false });
    const before = await allInRotation(t, [t.firstPort, t.firstPort + 1]);
    const victim = before.replicas[1]!;
    expect((await request(victim.port, 'POST', '/api/v1/_crash')).status).toBe(200);
    // While it is being replaced the front door keeps answering from the healthy one.
    const during = await t.front('GET', '/api/v1/during');
    expect(during.status).toBe(200);
    const after = await eventually(() => {
      const pool = t!.pool();
      const r = pool.replicas.find((x) => x.port === victim.port);
      return r && r.id !== victim.id && r.inRotation && r.health === 'healthy' && pool;
    });
    const replaced = after.replicas.find((r) => r.port === victim.port)!;
    expect(replaced.restarts).toBe(1);
    expect(replaced.reason).toMatch(/passed/);
    expect(processAlive(pidOf(victim.id))).toBe(false);
    expect((await request(victim.port, 'GET', '/api/v1/_count')).json()).toEqual([0]);
    expect(after.replicas.find((r) => r.port === t!.firstPort)!.id).toBe(before.replicas[0]!.id);
    const lines = t.logs.filter((l) => l.msg === 'replica state' && l.port === victim.port);
    expect(lines.map((l) => l.to)).toEqual(expect.arrayContaining(['replacing', 'starting', 'running']));
    expect(lines.find((l) => l.to === 'replacing')!.reason).toMatch(/health probe answered 500/);
  });

  test('a replica killed with SIGKILL is noticed from its exit and replaced on the same port', async () => {
    t = await startTestOrchestrator();
    const before = await allInRotation(t, [t.firstPort]);
    const victim = before.replicas[0]!;
    process.kill(pidOf(victim.id), 'SIGKILL');
    const replaced = await eventually(() => {
      const r = t!.pool().replicas[0]!;
      return r.id !== victim.id && r.inRotation && r;
    });
    expect(replaced).toMatchObject({ port: victim.port, restarts: 1 });
    const replacing = t.logs.find((l) => l.msg === 'replica state' && l.to === 'replacing');
    expect(replacing!.reason).toBe('exited: killed by SIGKILL');
    expect((await t.front('GET', '/api/v1/after')).json()).toMatchObject({ pid: pidOf(replaced.id) });
  });

  test('a replica that keeps failing is restarted with growing, capped backoff, visible in status and metrics', async () => {
    t = await startTestOrchestrator({ env: { FAKE_EXIT_AT_START: '1' } });
    const waits: number[] = [];
    await eventually(() => {
      const r = t!.pool().replicas[0]!;
      if (r.state === 'backoff' && waits[waits.length - 1] !== r.backoffMs) waits.push(r.backoffMs);
      return r.restarts >= 5;
    }, 5);
    expect(waits.slice(0, 3)).toEqual([300, 600, 1_200]);
    expect(Math.max(...waits)).toBe(1_200);
    const metrics = await request(t.orchestrator.adminPort, 'GET', '/metrics');
    expect(metrics.body).toMatch(
      new RegExp(`orchestrator_replica_backoff_seconds\\{pool="fake",port="${t.firstPort}"\\} 1\\.2`),
    );
    expect(metrics.body).toMatch(
      new RegExp(`orchestrator_replica_restarts\\{pool="fake",port="${t.firstPort}"\\} [5-9]`),
    );
    expect(t.pool().replicas[0]!.failureStreak).toBeGreaterThanOrEqual(5);
  });

  test('admin serves status JSON and Prometheus metrics, and is not counted', async () => {
    t = await startTestOrchestrator();
    await allInRotation(t, [t.firstPort]);
    await t.front('GET', '/api/v1/one');
    const status = await request(t.orchestrator.adminPort, 'GET', '/status');
    expect(status.status).toBe(200);
    expect(status.json()).toMatchObject({
      runtime: 'process',
      pools: [
        {
          name: 'fake',
          desiredReplicas: 1,
          countedRequests: 1,
          window: { count: 1 },
          replicas: [{ port: t.firstPort, state: 'running', health: 'healthy' }],
        },
      ],
    });
    const metrics = await request(t.orchestrator.adminPort, 'GET', '/metrics');
    expect(metrics.body).toContain('orchestrator_counted_requests_total{pool="fake"} 1');
    expect(metrics.body).toContain('orchestrator_desired_replicas{pool="fake"} 1');
    expect(metrics.body).toContain('orchestrator_window_requests{pool="fake"} 1');
    expect(metrics.body).toContain(`orchestrator_replica_up{pool="fake",port="${t.firstPort}"} 1`);
    expect((await request(t.orchestrator.adminPort, 'POST', '/status')).status).toBe(405);
    expect((await request(t.orchestrator.adminPort, 'GET', '/nope')).status).toBe(404);
    expect(t.pool().countedRequests).toBe(1);
  });

  test('a restarted orchestrator adopts running replicas without restarting them and removes strays', async () => {
    t = await startTestOrchestrator({ minReplicas: 2, maxReplicas: 4, autoscale: false });
    const before = await allInRotation(t, [t.firstPort, t.firstPort + 1]);
    await t.orchestrator.stop({ teardown: false });
    for (const r of before.replicas) expect(processAlive(pidOf(r.id))).toBe(true);
    const stray = await t.runtime.start({
      pool: 'fake',
      port: t.firstPort + 3,
      command: ['sleep', '300'],
      internalPort: 0,
      env: {},
      specHash: 'an-old-spec',
    });
    const second = await startTestOrchestrator(
      { minReplicas: 2, maxReplicas: 4, autoscale: false },
      {},
      t.runtime,
      t.firstPort,
    );
    const old = t;
    t = second;
    const after = await allInRotation(second, [second.firstPort, second.firstPort + 1]);
    expect(after.replicas.map((r) => r.id)).toEqual(before.replicas.map((r) => r.id));
    expect(after.replicas.every((r) => r.restarts === 0)).toBe(true);
    expect(processAlive(pidOf(stray.id))).toBe(false);
    expect((await second.runtime.list()).map((r) => r.id).sort()).toEqual(
      before.replicas.map((r) => r.id).sort(),
    );
    expect(old.runtime).toBe(second.runtime);
  });

  test('a taken listen port fails start with a clear error before any replica is started', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const runtime = createProcessRuntime({ cwd: process.cwd(), logDir: os.tmpdir() });
    const config = parseConfig({
      listen: { host: '127.0.0.1', port },
      admin: { host: '127.0.0.1', port: 0 },
      runtime: { kind: 'process' },
      pools: [{ name: 'fake', command: ['sleep', '300'], firstPort: port + 1 }],
    });
    const attempt = startOrchestrator(config, { runtime, runtimeName: 'process', logger: silentLogger });
    await expect(attempt).rejects.toBeInstanceOf(ListenError);
    await expect(attempt).rejects.toThrow(`front door port ${port} on 127.0.0.1 is already in use`);
    expect(await runtime.list()).toEqual([]);
    expect(await isListening(port + 1)).toBe(false);
    await new Promise((r) => blocker.close(r));
  });
});
