/**
 * What replica faults cost the clients, under steady load through the front door (8 keep-alive
 * GET connections and 1 POST connection) on the real acts service as local processes with the
 * production health settings. Each fault runs twice in the same run, with the proxy's retries
 * of idempotent requests on and off, so the ratio shows what they hide:
 *   - `_crash` sent straight to one replica's port, then the replacement;
 *   - SIGKILL of one replica, then the replacement;
 *   - a scale-down from 3 replicas to 1.
 * Also: time from each fault to the replica leaving the rotation; the orchestrator's restart
 * gap (stop, start again, adopt, first answer through the front door), in one process and, with
 * Docker replicas, after a SIGKILL of the real orchestrator process; and a login flood against
 * `npm start`: another request's p99 during it against the same request just before.
 * Sections: `node --import tsx bench/faults.bench.ts [faults] [restart] [login]` (default: all).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseConfig, type OrchestratorConfig } from '../orchestrator/config';
import { silentLogger } from '../common/log';
import { startOrchestrator, type Orchestrator } from '../orchestrator/orchestrator';
import { createProcessRuntime, type ProcessRuntime } from '../orchestrator/process-runtime';
import { describeTally, failed, requestStatus, startLoad, total } from '../test/support/load';
import { goalLine } from './goals';
import {
  dockerConfig,
  freePortRange as dockerFreePortRange,
  removeContainersOn,
  startOrchestrator as startDockerOrchestrator,
} from '../test/orchestrator/docker-harness';
import { eventually, freePortRange, killGroup, npmStart, request } from '../test/orchestrator/helpers';

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

/** Whether the local Docker engine answers and has the acts image; the reason when not. */
function dockerUnavailable(): string | undefined {
  try {
    execFileSync('docker', ['image', 'inspect', 'acts:latest'], { stdio: 'ignore', timeout: 10_000 });
    return undefined;
  } catch {
    return 'no Docker engine answers, or no acts:latest image (npm run images builds it)';
  }
}

/**
 * The gap a crashed orchestrator leaves, with replicas as containers (which outlive it and are
 * adopted, unlike process replicas, which follow it by design): the real orchestrator process
 * (`orchestrator/main.ts`) is SIGKILLed under a steady trickle of reads through its front door,
 * and the bench, playing systemd, starts it again at once. Measured: from the SIGKILL to the
 * first answer through the new front door, and whether that came from the same container.
 */
async function dockerRestartGap(): Promise<string> {
  const unavailable = dockerUnavailable();
  if (unavailable) return `orchestrator SIGKILL and restart (Docker): skipped, ${unavailable}`;
  const pool = `faults-bench-${process.pid}`;
  const firstPort = await dockerFreePortRange(1);
  const listenPort = await dockerFreePortRange(1);
  const adminPort = await dockerFreePortRange(1);
  const config = dockerConfig({ pool, firstPort, listenPort, adminPort, autoscale: false });
  const first = await startDockerOrchestrator(config);
  let second: Awaited<ReturnType<typeof startDockerOrchestrator>> | undefined;
  try {
    const containerOf = async (o: typeof first) =>
      (await o.status()).pools[0]?.replicas.find((r) => r.port === firstPort && r.inRotation)?.id;
    const before = await eventually(() => containerOf(first), 100, 120_000);
    const served = (status: number) => status >= 200 && status < 500;
    await eventually(async () => served(await requestStatus(listenPort, 'GET', '/api/v1/categories')), 50);

    // A read every few milliseconds, each on a fresh connection, timed.
    const answers: Array<{ at: number; status: number }> = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const status = await requestStatus(listenPort, 'GET', '/api/v1/categories');
        answers.push({ at: performance.now(), status });
        await sleep(2);
      }
    })();
    await sleep(500);
    const killedAt = performance.now();
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    second = await startDockerOrchestrator(config, ['--down']);
    const servedAt = await eventually(() => answers.find((a) => a.at > killedAt && served(a.status))?.at, 5);
    await sleep(500);
    reading = false;
    await reader;
    const after = await containerOf(second);
    const failedDuring = answers.filter(
      (a) => a.at > killedAt && a.at < servedAt && !served(a.status),
    ).length;
    return (
      `orchestrator SIGKILL and immediate restart (Docker, 1 acts container): front door closed ` +
      `${(servedAt - killedAt).toFixed(0)} ms (from the SIGKILL to the first answer through the new one; ` +
      `${failedDuring} reads failed meanwhile); container ${after === before ? 'adopted, not restarted' : 'RESTARTED'}`
    );
  } finally {
    if (first.child.exitCode === null && first.child.signalCode === null) first.child.kill('SIGKILL');
    await second?.stop();
    await removeContainersOn(pool, [firstPort]);
  }
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const FLOOD_CONNECTIONS = 400;
const FLOOD_MS = 6_000;
const WRONG_PASSWORD = 'e'.repeat(40);

/**
 * The flood, in a process of its own (so its 400 connections do not delay the measuring
 * client's timers): `FLOOD_CONNECTIONS` keep-alive connections each sending wrong-password
 * sign-ins back to back for `FLOOD_MS`, every attempt for a new username from a new public
 * address (so the per-client throttle never helps). Prints its tally as one JSON line.
 */
async function floodClient(port: number): Promise<void> {
  const statuses: Record<number, number> = {};
  const until = Date.now() + FLOOD_MS;
  let n = 0;
  await Promise.all(
    Array.from({ length: FLOOD_CONNECTIONS }, async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      while (Date.now() < until) {
        const k = n++;
        const status = await signIn(agent, port, k);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
      agent.destroy();
    }),
  );
  process.stdout.write(`${JSON.stringify(statuses)}\n`);
}

function signIn(agent: http.Agent, port: number, k: number): Promise<number> {
  const body = JSON.stringify({ password: WRONG_PASSWORD });
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/api/v1/users/flood${k}/session`,
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-forwarded-for': `198.${18 + ((k >> 16) & 1)}.${(k >> 8) & 255}.${k & 255}`,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

/** Resident memory high-water mark of a process, in MB; undefined once it is gone (replaced). */
function peakMb(pid: number): number | undefined {
  try {
    const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
    return kb / 1024;
  } catch {
    return undefined;
  }
}

interface UsersReplica {
  id: string;
  port: number;
  restarts: number;
  lastProbe: { at: string; ok: boolean; result: string; latencyMs: number } | null;
}

async function usersReplicaStatus(
  adminPort: number,
): Promise<(UsersReplica & { inRotation: boolean }) | undefined> {
  const status = (await request(adminPort, 'GET', '/status')).json<{
    pools: Array<{ name: string; replicas: Array<UsersReplica & { inRotation: boolean }> }>;
  }>();
  return status.pools.find((p) => p.name === 'users')?.replicas[0];
}

async function usersReplica(adminPort: number): Promise<UsersReplica | undefined> {
  const replica = await usersReplicaStatus(adminPort);
  return replica?.inRotation ? replica : undefined;
}

/**
 * The users replica's health probes while `keepGoing` holds, read from the orchestrator's
 * status (each probe once): how close the flood brings a probe to its timeout.
 */
async function watchProbes(adminPort: number, keepGoing: () => boolean): Promise<string> {
  const seen = new Map<string, { ok: boolean; result: string; latencyMs: number }>();
  while (keepGoing()) {
    const probe = (await usersReplicaStatus(adminPort).catch(() => undefined))?.lastProbe;
    if (probe) seen.set(probe.at, probe);
    await sleep(200);
  }
  const probes = [...seen.values()];
  const failed = probes.filter((p) => !p.ok);
  const slowest = Math.max(0, ...probes.map((p) => p.latencyMs));
  return (
    `${probes.length} health probes of the users replica during the flood, slowest ${slowest.toFixed(0)} ms, ` +
    `${failed.length} failed${failed.length > 0 ? ` (${failed.map((p) => p.result).join(', ')})` : ''}`
  );
}

/**
 * A login flood against `npm start` (the orchestrator and its replicas in their own processes,
 * as a user runs them): `GET /api/v1/users` latency while it lasts, against the same request
 * on the same system just before it (the baseline of this run), and what it costs the users
 * replica (peak memory, restarts).
 */
async function loginFlood(dir: string): Promise<string> {
  const port = await freePortRange(1);
  const args = [
    '--port',
    String(port),
    '--replicas',
    '1',
    '--data-dir',
    path.join(dir, 'npm-start'),
    '--acts-first-port',
    String(await freePortRange(2)),
    '--users-first-port',
    String(await freePortRange(10)),
    '--admin-port',
    '0',
  ];
  const run = npmStart(args);
  try {
    await until(() => run.output().includes('Ready: open') || run.child.exitCode !== null, 100);
    const admin = /Status: http:\/\/127\.0\.0\.1:(\d+)\/status/.exec(run.output());
    if (!admin) throw new Error(`npm start did not come up:\n${run.output()}`);
    const adminPort = Number(admin[1]);
    const replica = await eventually(() => usersReplica(adminPort), 100);
    const pid = Number(replica.id.slice(4));
    await requestStatus(
      port,
      'POST',
      '/api/v1/users',
      JSON.stringify({ username: 'alice', password: WRONG_PASSWORD }),
    );
    const sample = async (keepGoing: () => boolean, target = port) => {
      const latencies: number[] = [];
      const statuses = new Map<number, number>();
      while (keepGoing()) {
        const t0 = performance.now();
        const status = await requestStatus(target, 'GET', '/api/v1/users');
        latencies.push(performance.now() - t0);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        await sleep(5);
      }
      return { latencies, statuses };
    };
    const forMs = (ms: number) => {
      const end = performance.now() + ms;
      return () => performance.now() < end;
    };
    await sample(forMs(2_000));
    const [quiet, quietDirect] = await Promise.all([
      sample(forMs(FLOOD_MS)),
      sample(forMs(FLOOD_MS), replica.port),
    ]);
    const peakBefore = peakMb(pid) ?? NaN;

    const flood = spawn(process.execPath, ['--import', 'tsx', __filename, 'flood-client', String(port)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let floodOutput = '';
    flood.stdout.on('data', (d: Buffer) => (floodOutput += d.toString()));
    let flooding = true;
    const floodDone = new Promise<void>((resolve) =>
      flood.once('exit', () => ((flooding = false), resolve())),
    );
    // The client needs a moment to start; the flood is measured from its first answers on.
    await sleep(1_000);
    const [during, duringDirect, probes] = await Promise.all([
      sample(() => flooding),
      sample(() => flooding, replica.port),
      watchProbes(adminPort, () => flooding),
    ]);
    await floodDone;
    const floodTally = JSON.parse(floodOutput || '{}') as Record<string, number>;
    const after = await eventually(() => usersReplica(adminPort), 100);

    const q99 = percentile(quiet.latencies, 99);
    const d99 = percentile(during.latencies, 99);
    const tally = (m: Map<number, number>) => describeTally(m);
    return [
      `login flood against npm start: ${FLOOD_CONNECTIONS} keep-alive connections sending wrong-password sign-ins for ${FLOOD_MS / 1000} s ` +
        `(${Object.entries(floodTally)
          .map(([s, n]) => `${s === '0' ? 'error' : s}×${n}`)
          .join(' ')})`,
      `GET /api/v1/users without the flood: p50 ${percentile(quiet.latencies, 50).toFixed(1)} ms, p99 ${q99.toFixed(1)} ms over ${quiet.latencies.length} (${tally(quiet.statuses)})`,
      `GET /api/v1/users during the flood:  p50 ${percentile(during.latencies, 50).toFixed(1)} ms, p99 ${d99.toFixed(1)} ms over ${during.latencies.length} (${tally(during.statuses)})`,
      `  the same straight to the users replica's port (no front door): p99 ${percentile(quietDirect.latencies, 99).toFixed(1)} ms without, ` +
        `${percentile(duringDirect.latencies, 99).toFixed(1)} ms during (p50 ${percentile(duringDirect.latencies, 50).toFixed(1)} ms)`,
      `flood / baseline p99: ${(d99 / q99).toFixed(2)}×; ` +
        `users replica peak RSS ${peakBefore.toFixed(0)} → ${peakMb(pid)?.toFixed(0) ?? '(gone)'} MB, ` +
        `${after.id === replica.id ? 'not replaced' : `REPLACED (${after.restarts} restarts)`}`,
      probes,
      `load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
      goalLine(
        {
          what: 'GET /api/v1/users p99 through the front door during a login flood',
          kind: 'at most',
          limit: 100,
          unit: ' ms',
        },
        d99,
        `straight at the replica ${percentile(duringDirect.latencies, 99).toFixed(1)} ms, without the flood ${q99.toFixed(1)} ms, load average ${os.loadavg()[0]!.toFixed(2)}`,
      ),
    ].join('\n');
  } finally {
    killGroup(run.child.pid!);
    await run.exited;
  }
}

/** Every section by default; `node --import tsx bench/faults.bench.ts login restart` runs only those. */
const SECTIONS = ['faults', 'restart', 'login'] as const;

async function main(): Promise<void> {
  if (process.argv[2] === 'flood-client') return floodClient(Number(process.argv[3]));
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
      console.log(await dockerRestartGap());
    }
    if (wanted('login')) console.log(await loginFlood(dir));
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
