/**
 * What replica faults cost the clients, under steady load through the front door (8 keep-alive
 * GET connections and 1 POST connection) on the real acts service as local processes with the
 * production health settings. Each fault runs twice in the same run, with the proxy's retries
 * of idempotent requests on and off, so the ratio shows what they hide:
 *   - `_crash` sent straight to one replica's port, then the replacement;
 *   - SIGKILL of one replica, then the replacement;
 *   - a scale-down from 3 replicas to 1.
 * Also: time from each fault to the replica leaving the rotation, the orchestrator's restart
 * gap (stop, start again, adopt, first answer through the front door), and a login flood's
 * effect on another request of the users replica, against the same request without a flood.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig, type OrchestratorConfig } from '../orchestrator/config';
import { silentLogger } from '../common/log';
import { startOrchestrator, type Orchestrator } from '../orchestrator/orchestrator';
import { createProcessRuntime, type ProcessRuntime } from '../orchestrator/process-runtime';
import { describeTally, failed, requestStatus, startLoad, total } from '../test/support/load';
import { freePortRange } from '../test/orchestrator/helpers';

const REPO_ROOT = path.resolve(__dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(check: () => T | undefined | false, pauseMs = 1): Promise<T> {
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    await sleep(pauseMs);
  }
}

function actsConfig(
  dir: string,
  firstPort: number,
  replicas: number,
  autoscale: boolean,
): OrchestratorConfig {
  return parseConfig({
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    runtime: { kind: 'process', logDir: path.join(dir, 'logs') },
    scaling: { windowSeconds: 1, requestsPerReplica: 1_000_000 },
    pools: [
      {
        name: 'acts',
        command: [process.execPath, '--import', 'tsx', 'services/acts/main.ts'],
        firstPort,
        minReplicas: autoscale ? 1 : replicas,
        maxReplicas: 3,
        autoscale,
        env: {
          DATABASE_URL: `sqlite:${path.join(dir, 'acts.db')}`,
          USERS_URL: 'http://127.0.0.1:9',
          PUBLIC_ORIGIN: 'http://localhost',
          LOG_LEVEL: 'warn',
        },
      },
    ],
  });
}

interface FaultResult {
  getsFailed: number;
  gets: number;
  postsFailed: number;
  posts: number;
  outOfRotationMs: number | undefined;
  detail: string;
}

/** Runs load, applies the fault, waits for recovery, and tallies what failed. */
async function underLoad(
  o: Orchestrator,
  fault: () => Promise<number | undefined>,
  recovered: () => boolean,
): Promise<FaultResult> {
  const load = startLoad({
    port: o.frontDoorPort,
    getConnections: 8,
    postConnections: 1,
    getPath: '/api/v1/categories',
    postPath: '/api/v1/categories',
    postBody: '["bench"]',
  });
  await sleep(500);
  const outOfRotationMs = await fault();
  await until(recovered, 5);
  await sleep(500);
  const tally = await load.stop();
  return {
    getsFailed: failed(tally.GET),
    gets: total(tally.GET),
    postsFailed: failed(tally.POST),
    posts: total(tally.POST),
    outOfRotationMs,
    detail: `GET ${describeTally(tally.GET)}; POST ${describeTally(tally.POST)}`,
  };
}

function replicaOn(o: Orchestrator, port: number) {
  return o.status().pools[0]!.replicas.find((r) => r.port === port);
}

/** Resolves with the ms from now until the port leaves the rotation. */
function timeToEjection(o: Orchestrator, port: number): Promise<number> {
  const t0 = performance.now();
  return until(() => !replicaOn(o, port)?.inRotation && performance.now() - t0);
}

const servingAgain = (o: Orchestrator, port: number, oldId: string | null) => () => {
  const r = replicaOn(o, port);
  return !!r && r.id !== oldId && r.inRotation;
};

async function faultRound(
  retries: boolean,
  runtime: ProcessRuntime,
  dir: string,
): Promise<Record<string, FaultResult>> {
  const results: Record<string, FaultResult> = {};
  const upstream = { retryIdempotent: retries };
  const deps = { runtime, runtimeName: 'process', logger: silentLogger, upstream };

  {
    const firstPort = await freePortRange(3);
    const o = await startOrchestrator(actsConfig(dir, firstPort, 2, false), deps);
    const [a, b] = [firstPort, firstPort + 1];
    await until(() => [a, b].every((p) => replicaOn(o, p)?.inRotation), 20);
    const crashedId = replicaOn(o, a)!.id;
    results.crash = await underLoad(
      o,
      async () => {
        const ejected = timeToEjection(o, a);
        await requestStatus(a, 'POST', '/api/v1/_crash');
        return ejected;
      },
      servingAgain(o, a, crashedId),
    );
    const killedId = replicaOn(o, b)!.id;
    results.sigkill = await underLoad(
      o,
      async () => {
        const ejected = timeToEjection(o, b);
        process.kill(Number(killedId!.slice(4)), 'SIGKILL');
        return ejected;
      },
      servingAgain(o, b, killedId),
    );
    await o.stop({ teardown: true });
    await runtime.removeAll();
  }

  {
    // Three replicas from one run, adopted by a second whose first window asks for one.
    const firstPort = await freePortRange(3);
    const three = await startOrchestrator(actsConfig(dir, firstPort, 3, false), deps);
    await until(() => three.status().pools[0]!.replicas.filter((r) => r.inRotation).length === 3, 20);
    await three.stop({ teardown: false });
    const o = await startOrchestrator(actsConfig(dir, firstPort, 1, true), deps);
    await until(() => o.status().pools[0]!.replicas.filter((r) => r.inRotation).length === 3, 20);
    results['scale-down 3→1'] = await underLoad(
      o,
      async () => undefined,
      () => o.status().pools[0]!.replicas.length === 1,
    );
    await o.stop({ teardown: true });
    await runtime.removeAll();
  }
  return results;
}

async function restartGap(
  runtime: ProcessRuntime,
  dir: string,
): Promise<{ gapMs: number; sameReplica: boolean }> {
  const firstPort = await freePortRange(3);
  const config = actsConfig(dir, firstPort, 1, false);
  const deps = { runtime, runtimeName: 'process', logger: silentLogger };
  const first = await startOrchestrator(config, deps);
  await until(() => replicaOn(first, firstPort)?.inRotation, 20);
  const id = replicaOn(first, firstPort)!.id;
  const t0 = performance.now();
  await first.stop({ teardown: false });
  const second = await startOrchestrator({ ...config, listen: { ...config.listen, port: 0 } }, deps);
  await until(() => replicaOn(second, firstPort)?.inRotation, 1);
  while ((await requestStatus(second.frontDoorPort, 'GET', '/api/v1/categories')) >= 500) await sleep(1);
  const gapMs = performance.now() - t0;
  const sameReplica = replicaOn(second, firstPort)!.id === id;
  await second.stop({ teardown: true });
  await runtime.removeAll();
  return { gapMs, sameReplica };
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function loginFlood(runtime: ProcessRuntime, dir: string): Promise<string> {
  const firstPort = await freePortRange(1);
  const config = parseConfig({
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    runtime: { kind: 'process' },
    pools: [
      {
        name: 'users',
        command: [process.execPath, '--import', 'tsx', 'services/users/main.ts'],
        firstPort,
        env: { DATABASE_URL: `sqlite:${path.join(dir, 'users.db')}`, LOG_LEVEL: 'warn' },
        maxReplicas: 1,
        autoscale: false,
      },
    ],
  });
  const o = await startOrchestrator(config, { runtime, runtimeName: 'process', logger: silentLogger });
  await until(() => replicaOn(o, firstPort)?.inRotation, 20);
  const front = o.frontDoorPort;
  await requestStatus(
    front,
    'POST',
    '/api/v1/users',
    JSON.stringify({ username: 'alice', password: 'f'.repeat(40) }),
  );
  const measure = async (whileFn: () => boolean, atLeast: number) => {
    const samples: number[] = [];
    while (whileFn() || samples.length < atLeast) {
      const t0 = performance.now();
      await requestStatus(front, 'GET', '/api/v1/users');
      samples.push(performance.now() - t0);
      await sleep(5);
    }
    return samples;
  };
  const quiet = await measure(() => false, 100);
  /** A wave of 400 concurrent requests; GET /api/v1/users is sampled until it has drained. */
  const wave = async (send: (n: number) => Promise<number>) => {
    let done = false;
    const statuses = new Map<number, number>();
    const t0 = performance.now();
    const all = Promise.all(
      Array.from({ length: 400 }, async (_, n) => {
        const s = await send(n);
        statuses.set(s, (statuses.get(s) ?? 0) + 1);
      }),
    ).then(() => (done = true));
    const samples = await measure(() => !done, 20);
    await all;
    return {
      drainedMs: performance.now() - t0,
      statuses,
      p99: percentile(samples, 99),
      samples: samples.length,
    };
  };
  // The floor: the same wave made of the cheapest request there is, on this (shared) machine.
  const plain = await wave(() => requestStatus(front, 'GET', '/api/v1/users'));
  const logins = await wave((n) =>
    requestStatus(
      front,
      'POST',
      `/api/v1/users/user${n}/session`,
      JSON.stringify({ password: 'e'.repeat(40) }),
      `198.51.${n >> 8}.${n & 255}`,
    ),
  );
  const restarts = o.status().pools[0]!.replicas[0]!.restarts;
  await o.stop({ teardown: true });
  await runtime.removeAll();
  const line = (name: string, w: typeof plain) =>
    `${name}: drained in ${w.drainedMs.toFixed(0)} ms (${[...w.statuses].map(([s, n]) => `${s}×${n}`).join(' ')}), ` +
    `GET /api/v1/users p99 ${w.p99.toFixed(1)} ms over ${w.samples} samples`;
  return [
    `GET /api/v1/users alone: p99 ${percentile(quiet, 99).toFixed(1)} ms`,
    line('wave of 400 concurrent GET /api/v1/users (floor)', plain),
    line('wave of 400 concurrent wrong-password sign-ins, distinct addresses and usernames', logins),
    `login wave / plain wave: drain ${(logins.drainedMs / plain.drainedMs).toFixed(2)}×, ` +
      `p99 ${(logins.p99 / plain.p99).toFixed(2)}× (goal: p99 ≤ 100 ms on an idle machine); replica restarts ${restarts}`,
  ].join('\n');
}

/** Every section by default; `node --import tsx bench/faults.bench.ts login restart` runs only those. */
const SECTIONS = ['faults', 'restart', 'login'] as const;

async function main(): Promise<void> {
  const asked = process.argv.slice(2);
  const wanted = (section: (typeof SECTIONS)[number]) => asked.length === 0 || asked.includes(section);
  const unknown = asked.filter((a) => !(SECTIONS as readonly string[]).includes(a));
  if (unknown.length > 0)
    throw new Error(`unknown section ${unknown.join(', ')}; sections: ${SECTIONS.join(', ')}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'faults-bench-'));
  const runtime = createProcessRuntime({ cwd: REPO_ROOT, logDir: path.join(dir, 'logs') });
  try {
    if (wanted('faults')) await faults(runtime, dir);
    if (wanted('restart')) {
      const gap = await restartGap(runtime, dir);
      console.log(
        `orchestrator restart (stop, start in the same process, adopt, first answer): ${gap.gapMs.toFixed(0)} ms ` +
          `front door closed; replica ${gap.sameReplica ? 'adopted, not restarted' : 'RESTARTED'}`,
      );
    }
    if (wanted('login')) console.log(await loginFlood(runtime, dir));
  } finally {
    await runtime.removeAll();
  }
}

async function faults(runtime: ProcessRuntime, dir: string): Promise<void> {
  const on = await faultRound(true, runtime, dir);
  const off = await faultRound(false, runtime, dir);
  console.log('acts as processes, 8 GET + 1 POST keep-alive connections through the front door, 1 s probes');
  for (const name of Object.keys(on)) {
    const [r, n] = [on[name]!, off[name]!];
    const ejection =
      r.outOfRotationMs !== undefined
        ? `; out of rotation ${r.outOfRotationMs.toFixed(0)} ms after the fault (retries off: ${n.outOfRotationMs!.toFixed(0)} ms)`
        : '';
    console.log(
      `${name}: failed GETs ${r.getsFailed}/${r.gets} with retries, ${n.getsFailed}/${n.gets} without; ` +
        `failed POSTs ${r.postsFailed}/${r.posts} with, ${n.postsFailed}/${n.posts} without${ejection}`,
    );
    console.log(`  with retries: ${r.detail}\n  without:      ${n.detail}`);
  }
}

void main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
