/**
 * A flood of wrong-password sign-ins through the front door, from many addresses and for many
 * usernames (so the per-client throttle does not help), against one real users replica: the
 * bounded hashing queue must keep its other requests fast and its memory bounded.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../orchestrator/config';
import { silentLogger } from '../../common/log';
import { startOrchestrator, type Orchestrator } from '../../orchestrator/orchestrator';
import { createProcessRuntime, type ProcessRuntime } from '../../orchestrator/process-runtime';
import { requestStatus } from '../support/load';
import { eventually, freePortRange, REPO_ROOT } from './helpers';

jest.setTimeout(90_000);

const FLOOD = 400;
/** GETs measured at least; more while the wave lasts. */
const SAMPLES = 20;
const WRONG = 'f'.repeat(40);

/** Resident memory high-water mark of a process, in MB. */
function peakMb(pid: number): number {
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return kb / 1024;
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('a login flood through the front door', () => {
  let orchestrator: Orchestrator | undefined;
  let runtime: ProcessRuntime | undefined;
  afterEach(async () => {
    await orchestrator?.stop({ teardown: true });
    await runtime?.removeAll();
  });

  test(`${FLOOD} concurrent wrong-password sign-ins are shed with 503 past a short queue: every GET /api/v1/users is served by the same replica and its memory stays bounded`, async () => {
    const firstPort = await freePortRange(1);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'login-flood-'));
    const config = parseConfig({
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      runtime: { kind: 'process' },
      // Patient probes: on a shared, loaded machine a starved replica must not be replaced
      // mid-test for answering its probe late; this suite is about the replica, not the probes.
      health: { intervalMs: 2_000, timeoutMs: 1_900, failureThreshold: 5 },
      pools: [
        {
          name: 'users',
          command: [process.execPath, '--import', 'tsx', 'services/users/main.ts'],
          firstPort,
          env: { DATABASE_URL: `sqlite:${path.join(dataDir, 'users.db')}`, LOG_LEVEL: 'warn' },
          minReplicas: 1,
          maxReplicas: 1,
          autoscale: false,
        },
      ],
    });
    runtime = createProcessRuntime({ cwd: REPO_ROOT, logDir: path.join(dataDir, 'logs') });
    orchestrator = await startOrchestrator(config, { runtime, runtimeName: 'process', logger: silentLogger });
    const front = orchestrator.frontDoorPort;
    const replica = await eventually(() => {
      const r = orchestrator!.status().pools[0]!.replicas[0];
      return r?.inRotation && r;
    }, 50);
    const pid = Number(replica.id!.slice(4));
    expect(
      await requestStatus(
        front,
        'POST',
        '/api/v1/users',
        JSON.stringify({ username: 'alice', password: WRONG }),
      ),
    ).toBe(201);
    // Warm the route and the database before the baseline.
    for (let i = 0; i < 20; i++) expect(await requestStatus(front, 'GET', '/api/v1/users')).toBe(200);
    const baselineMb = peakMb(pid);

    // One wave of concurrent attempts, each from its own public address for its own username.
    const statuses = new Map<number, number>();
    const startedAt = Date.now();
    let waveDone = false;
    const wave = Promise.all(
      Array.from({ length: FLOOD }, async (_, n) => {
        const address = `198.51.${(n >> 8) & 255}.${n & 255}`;
        const body = JSON.stringify({ password: WRONG });
        const status = await requestStatus(front, 'POST', `/api/v1/users/user${n}/session`, body, address);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }),
    ).then(() => (waveDone = true));

    // Meanwhile another client lists the users, again and again, until the wave has drained.
    const latencies: number[] = [];
    while (!waveDone || latencies.length < SAMPLES) {
      const started = process.hrtime.bigint();
      expect(await requestStatus(front, 'GET', '/api/v1/users')).toBe(200);
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      await new Promise((r) => setTimeout(r, 5));
    }
    await wave;
    const drainedMs = Date.now() - startedAt;

    const p99 = percentile(latencies, 99);
    const grewMb = peakMb(pid) - baselineMb;
    console.log(
      `login flood: ${FLOOD} attempts drained in ${drainedMs} ms (${[...statuses].map(([s, n]) => `${s}×${n}`).join(' ')}); ` +
        `GET /api/v1/users p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms; ` +
        `replica peak RSS ${baselineMb.toFixed(0)} → ${(baselineMb + grewMb).toFixed(0)} MB`,
    );
    // Wrong passwords are 401, and the overflow is shed with 503; nothing else, nothing lost.
    expect([...statuses.keys()].every((s) => s === 401 || s === 503)).toBe(true);
    expect(statuses.get(503)).toBeGreaterThan(0);
    // Bounded: one hash (16 MB) per core but one at once and 8 waiting, whatever the flood's size;
    // the rest is the 400 connections themselves.
    expect(grewMb).toBeLessThan(80);
    // The same replica served throughout: the flood did not make it fail its probes.
    expect(orchestrator.status().pools[0]!.replicas[0]).toMatchObject({ id: replica.id, restarts: 0 });
    // Latency is reported here and compared in `npm run bench` (faults), not asserted on a
    // shared machine; the bench's figure is the p99 against the same GET without a flood.
    expect(p99).toBeGreaterThan(0);
  });
});
