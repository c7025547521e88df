/**
 * The proxy hop: requests/s, latency and CPU per request through the front door, against the
 * same two trivial backends reached directly and through nginx (when installed), all measured
 * in this run with wrk, the front door and nginx in alternating rounds so that both see the
 * same load on a shared machine; latency again at about half of the front door's saturation (wrk
 * connections paced with its delay() hook, since wrk2 is not available). Then the front door's
 * memory before and after ~1,000,000 requests of which 5% are aborted by the client.
 * BENCH_QUICK=1 shortens every phase.
 *
 * Every party runs in its own process (this file re-runs itself in a role) so the front
 * door's RSS is its own and no event loop is shared with the load generator.
 *
 * Last, end to end: the same front door and nginx over two real acts replicas, next to the
 * system's figure before the replicas' hot path and process-mode bundle were reworked.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { RoundRobinBalancer } from '../orchestrator/balancer';
import { createFrontDoor } from '../orchestrator/front-door';
import { silentLogger } from '../common/log';
import { bundledServiceCommand } from '../scripts/services-bundle';
import { freePort } from '../test/support/requirements';
import { reportGoal } from './goals';

const QUICK = process.env.BENCH_QUICK === '1';
const WRK_SECONDS = QUICK ? 4 : 10;
/**
 * Load before each measured run. process.cpuUsage() counts every thread of the front door,
 * V8's optimising compiler included; on a busy machine, after a 2 s warm-up at 2 connections
 * it still measured 600-900 µs of CPU per request, against 130-280 µs after this one.
 */
const WARMUP_SECONDS = 6;
/** Alternating measured runs of the front door and nginx per comparison. */
const ROUNDS = 3;
const MEMORY_REQUESTS = QUICK ? 100_000 : 1_000_000;
const ABORT_SHARE = 0.05;
const NGINX = '/usr/sbin/nginx';

type Role = 'backend' | 'front-door';

async function main(): Promise<void> {
  const role = process.argv[2] as Role | undefined;
  if (role === 'backend') return runBackend(Number(process.argv[3]));
  if (role === 'front-door') return runFrontDoor(process.argv.slice(3).map(Number));
  return orchestrate();
}

// ---------------------------------------------------------------- roles

function runBackend(port: number): void {
  const big = Buffer.alloc(1024 * 1024, 'x');
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/api/v1/slow') {
      setTimeout(() => res.end('slow'), 50);
      return;
    }
    if (req.url === '/api/v1/big') {
      res.writeHead(200, { 'content-length': big.length });
      res.end(big);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 11 });
    res.end('hello world');
  });
  server.keepAliveTimeout = 65_000;
  server.listen(port, '127.0.0.1', () => process.send?.('ready'));
}

async function runFrontDoor(args: number[]): Promise<void> {
  const [listenPort, ...backendPorts] = args;
  const balancer = new RoundRobinBalancer();
  for (const port of backendPorts) {
    balancer.add(port);
    balancer.setInRotation(port, true);
  }
  const frontDoor = createFrontDoor({
    pools: [{ name: 'acts', pathPrefixes: ['/api/v1/'], balancer }],
    logger: silentLogger,
    onCountedRequest: () => {},
  });
  await frontDoor.listen(listenPort, '127.0.0.1');
  // Sampled only while asked to: its 1 ms timer would otherwise add wake-ups (and CPU) to
  // every other measurement.
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  process.on('message', (msg) => {
    if (msg === 'loop-delay-start') {
      loopDelay.reset();
      loopDelay.enable();
      process.send?.({});
    }
    if (msg === 'loop-delay') {
      loopDelay.disable();
      // Each sample is the whole timer interval; what is late is the part beyond it.
      process.send?.({ p99Ms: loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS });
    }
    if (msg === 'rss') {
      (globalThis as { gc?: () => void }).gc?.();
      const cpu = process.cpuUsage();
      const memory = process.memoryUsage();
      process.send?.({
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        cpuMicros: cpu.user + cpu.system,
        inFlight: balancer.snapshot(),
      });
    }
  });
  process.send?.('ready');
}

// ---------------------------------------------------------------- orchestration

/** What a hop adds to the backend reached directly, at the same offered rate. */
interface Added {
  p50Ms: number;
  p99Ms: number;
}

function addedOver(direct: WrkResult, through: WrkResult): Added {
  return { p50Ms: through.p50Ms - direct.p50Ms, p99Ms: through.p99Ms - direct.p99Ms };
}

interface WrkResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: string;
}

async function orchestrate(): Promise<void> {
  if (!hasCommand('wrk')) {
    console.log('skipped: wrk is not installed');
    return;
  }
  const children: ChildProcess[] = [];
  const cleanup = () => {
    runningNginxStop?.();
    for (const child of children) child.kill('SIGKILL');
  };
  process.on('exit', cleanup);

  try {
    const backendPorts = [await freePort(), await freePort()];
    for (const port of backendPorts) children.push(await startRole('backend', [port]));
    const frontDoorPort = await freePort();
    const frontDoor = await startRole('front-door', [frontDoorPort, ...backendPorts]);
    children.push(frontDoor);

    console.log(
      `two trivial backends, wrk -t2 -c32 -d${WRK_SECONDS}s, ${os.cpus().length} cores shared by everything`,
    );
    const url = (port: number) => `http://127.0.0.1:${port}/api/v1/bench`;

    await wrk(url(frontDoorPort), 32, WARMUP_SECONDS);
    // The backend is a bare node:http server: its CPU per request is what node:http's server
    // side alone costs, the part of the front door that no proxy code of ours can remove.
    const backendPid = children[0]!.pid!;
    const backendCpuBefore = processTreeCpuMicros(backendPid);
    const direct = await wrk(url(backendPorts[0]), 32, WRK_SECONDS);
    const nodeServerCpu = (processTreeCpuMicros(backendPid) - backendCpuBefore) / direct.requests;
    printRow('backend direct', direct, nodeServerCpu);

    let front: WrkResult;
    let trivial: Rounds | undefined;
    let oneWorkerRps: number | undefined;
    if (existsSync(NGINX)) {
      trivial = await withNginx(backendPorts, 'auto', async (nginxPort, pid) => {
        await wrk(url(nginxPort), 32, WARMUP_SECONDS);
        return frontDoorAgainstNginx(frontDoor, url(frontDoorPort), url(nginxPort), pid);
      });
      front = trivial.medianFront;
      const oneWorker = await withNginx(backendPorts, '1', async (nginxPort) => {
        await wrk(url(nginxPort), 32, WARMUP_SECONDS);
        return wrk(url(nginxPort), 32, WRK_SECONDS);
      });
      printRow('nginx (1 worker)', oneWorker);
      oneWorkerRps = oneWorker.rps;
      console.log(
        `front door (median round) / nginx (1 worker) requests/s: ${ratio(front.rps, oneWorker.rps)}`,
      );
    } else {
      console.log(`nginx: skipped (${NGINX} not installed)`);
      front = await wrk(url(frontDoorPort), 32, WRK_SECONDS);
      printRow('front door', front);
    }
    console.log(`front door / backend direct  requests/s ratio: ${ratio(front.rps, direct.rps)}`);
    console.log(`added p99 at saturation vs direct: ${(front.p99Ms - direct.p99Ms).toFixed(2)} ms`);

    // Half of saturation, the same for all three: every connection pauses between its requests
    // (wrk's delay() hook), so the offered rate is capped without a load generator of our own.
    // Direct, front door and nginx in turns, each round's added latency taken against the
    // direct run of the same round, and the median round reported, as for the rates above.
    const halfRate = front.rps / 2;
    const script = pacingScript(halfRate, 32);
    console.log('');
    console.log(
      `at about half of the front door's saturation (target ${halfRate.toFixed(0)} req/s, 32 connections with exponential pauses):`,
    );
    const frontAdded: Added[] = [];
    const nginxAdded: Added[] = [];
    const loopDelays: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const directHalf = await wrk(url(backendPorts[0]), 32, WRK_SECONDS, script);
      await startLoopDelay(frontDoor);
      const frontHalf = await wrk(url(frontDoorPort), 32, WRK_SECONDS, script);
      const loopDelay = await loopDelayP99(frontDoor);
      // nginx at the same offered rate: what one more hop adds on this machine at this moment.
      const nginxHalf = existsSync(NGINX)
        ? await withNginx(backendPorts, 'auto', (nginxPort) => wrk(url(nginxPort), 32, WRK_SECONDS, script))
        : undefined;
      printRow(`  backend direct #${round}`, directHalf);
      printRow(`  front door #${round}`, frontHalf);
      console.log(`  front door's own event-loop delay #${round}: p99 ${loopDelay.toFixed(2)} ms`);
      loopDelays.push(loopDelay);
      frontAdded.push(addedOver(directHalf, frontHalf));
      if (nginxHalf) {
        printRow(`  nginx (auto workers) #${round}`, nginxHalf);
        nginxAdded.push(addedOver(directHalf, nginxHalf));
      }
    }
    rmSync(path.dirname(script), { recursive: true, force: true });
    const addedList = (values: Added[]) =>
      values.map((a) => `p50 +${a.p50Ms.toFixed(2)} / p99 +${a.p99Ms.toFixed(2)}`).join(', ');
    console.log(`added at half saturation, per round: front door ${addedList(frontAdded)}`);
    if (nginxAdded.length > 0) console.log(`  nginx at the same rate, per round: ${addedList(nginxAdded)}`);
    const frontP50 = median(frontAdded.map((a) => a.p50Ms));
    const frontP99 = median(frontAdded.map((a) => a.p99Ms));
    const nginxP50 = nginxAdded.length > 0 ? median(nginxAdded.map((a) => a.p50Ms)) : undefined;
    const nginxP99 = nginxAdded.length > 0 ? median(nginxAdded.map((a) => a.p99Ms)) : undefined;
    console.log(
      `added at half saturation, median: front door p50 +${frontP50.toFixed(2)} ms, p99 +${frontP99.toFixed(2)} ms` +
        `${nginxP99 === undefined ? '' : `; nginx p50 +${nginxP50!.toFixed(2)} ms, p99 +${nginxP99.toFixed(2)} ms`}`,
    );
    if (trivial) {
      reportGoal(
        {
          what: 'front door / nginx (auto workers) requests/s, trivial backends',
          kind: 'at least',
          limit: 0.8,
          unit: '',
        },
        trivial.rpsRatio,
        oneWorkerRps === undefined
          ? undefined
          : `against nginx with 1 worker, one dispatcher as strict round robin needs, it is ${ratio(front.rps, oneWorkerRps)} in this run`,
      );
      reportGoal(
        { what: 'front door / nginx CPU per proxied request', kind: 'at most', limit: 1.5, unit: '×' },
        trivial.cpuRatio,
        `node:http's server side alone (the bare backend) costs ${nodeServerCpu.toFixed(1)} µs per request in this run, ` +
          `${(nodeServerCpu / trivial.peerCpu).toFixed(2)}× nginx's whole proxied request (${trivial.peerCpu.toFixed(1)} µs), ` +
          `before the upstream side is paid (docs/performance.md, The front door)`,
      );
    }
    reportGoal(
      { what: 'added p99 at half saturation', kind: 'at most', limit: 1, unit: ' ms' },
      frontP99,
      `${nginxP99 === undefined ? '' : `nginx at the same rate adds ${nginxP99.toFixed(2)} ms in this run; `}` +
        `the front door's added p50 is ${frontP50.toFixed(2)} ms, its own event loop is late by ` +
        `${median(loopDelays).toFixed(2)} ms at p99 (timers, GC and waiting for a core); load average ${os.loadavg()[0]!.toFixed(1)}`,
    );

    await memoryCheck(frontDoor, frontDoorPort, front.rps);
    await overActsReplicas(children);
  } finally {
    cleanup();
  }
}

/**
 * Requests/s through the front door over two acts replicas (GET /api/v1/categories, wrk -t2
 * -c32) on the code before the replicas' rework, with the machine shared and loaded (load
 * average 8 on 2 cores): compare with care, a quiet machine gives far higher figures for both.
 */
const SYSTEM_RPS_BEFORE = 201;

/**
 * End to end: two real acts replicas (process mode: the bundled service on one SQLite file)
 * behind a front door and behind nginx, the same GET /api/v1/categories through each.
 */
async function overActsReplicas(children: ChildProcess[]): Promise<void> {
  console.log('');
  console.log(`two acts replicas (SQLite), GET /api/v1/categories, wrk -t2 -c32 -d${WRK_SECONDS}s`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'proxy-bench-acts-'));
  try {
    const replicaPorts = [await freePort(), await freePort()];
    const [node, ...args] = bundledServiceCommand('acts');
    for (const port of replicaPorts) {
      const child = spawn(node!, args, {
        env: {
          ...process.env,
          PORT: String(port),
          DATABASE_URL: `sqlite:${path.join(dir, 'acts.db')}`,
          USERS_URL: 'http://127.0.0.1:9',
          LOG_LEVEL: 'warn',
        },
        stdio: 'ignore',
      });
      children.push(child);
      await waitForHttp(port, '/api/v1/_health');
    }
    for (const name of ['cats', 'dogs', 'birds'])
      await new Promise<void>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port: replicaPorts[0], path: '/api/v1/categories', method: 'POST' },
          (res) => {
            res.resume();
            res.on('end', resolve);
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify([name]));
      });
    const frontDoorPort = await freePort();
    const frontDoor = await startRole('front-door', [frontDoorPort, ...replicaPorts]);
    children.push(frontDoor);
    const url = (port: number) => `http://127.0.0.1:${port}/api/v1/categories`;

    await wrk(url(frontDoorPort), 32, WARMUP_SECONDS);
    if (!existsSync(NGINX)) {
      const front = await wrk(url(frontDoorPort), 32, WRK_SECONDS);
      printRow('front door', front);
      console.log(`nginx: skipped (${NGINX} not installed)`);
      return;
    }
    const rounds = await withNginx(
      replicaPorts,
      'auto',
      async (nginxPort, pid) => {
        await wrk(url(nginxPort), 32, WARMUP_SECONDS);
        return frontDoorAgainstNginx(frontDoor, url(frontDoorPort), url(nginxPort), pid);
      },
      '/api/v1/categories',
    );
    const front = rounds.medianFront;
    reportGoal(
      {
        what: 'front door / nginx requests/s over two acts replicas',
        kind: 'at least',
        limit: 0.95,
        unit: '',
      },
      rounds.rpsRatio,
      `the front door spends ${rounds.cpuRatio.toFixed(2)}× nginx's CPU per request, taken from the two cores the replicas saturate`,
    );
    console.log(
      `system through the front door: ${front.rps.toFixed(0)} req/s; before this work ${SYSTEM_RPS_BEFORE} req/s (loaded machine)`,
    );
    reportGoal(
      {
        what: 'system through the front door / before this work, two replicas',
        kind: 'at least',
        limit: 3,
        unit: '×',
      },
      front.rps / SYSTEM_RPS_BEFORE,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The front door and nginx (auto workers) in alternating rounds, each counting its own CPU. */
function frontDoorAgainstNginx(
  frontDoor: ChildProcess,
  frontDoorUrl: string,
  nginxUrl: string,
  nginxPid: number,
): Promise<Rounds> {
  return alternatingRounds(
    {
      label: 'front door',
      url: frontDoorUrl,
      cpuMicros: async () => (await statsOf(frontDoor)).cpuMicros,
    },
    {
      label: 'nginx (auto workers)',
      url: nginxUrl,
      cpuMicros: async () => processTreeCpuMicros(nginxPid),
    },
  );
}

interface Contender {
  label: string;
  url: string;
  /** CPU time used so far by the contender's processes, in microseconds. */
  cpuMicros(): Promise<number>;
}

/**
 * The front door and its peer measured in turns (front, peer, front, peer, ...), each ratio
 * taken within one round: on a shared machine whose load swings within minutes, one run of
 * each far apart in time compares the load more than the proxies. Prints every round and the
 * median of the per-round ratios; returns the front door's median run by requests/s.
 */
interface Rounds {
  /** The front door's median run by requests/s. */
  medianFront: WrkResult;
  /** Medians of the per-round ratios, front door / peer. */
  rpsRatio: number;
  cpuRatio: number;
  /** The peer's median CPU per request, µs. */
  peerCpu: number;
}

async function alternatingRounds(frontDoor: Contender, peer: Contender): Promise<Rounds> {
  const fronts: WrkResult[] = [];
  const rpsRatios: number[] = [];
  const cpuRatios: number[] = [];
  const peerCpus: number[] = [];
  const measure = async (who: Contender): Promise<{ result: WrkResult; cpu: number }> => {
    const before = await who.cpuMicros();
    const result = await wrk(who.url, 32, WRK_SECONDS);
    return { result, cpu: ((await who.cpuMicros()) - before) / result.requests };
  };
  for (let round = 1; round <= ROUNDS; round++) {
    const f = await measure(frontDoor);
    const p = await measure(peer);
    printRow(`${frontDoor.label} #${round}`, f.result, f.cpu);
    printRow(`${peer.label} #${round}`, p.result, p.cpu);
    fronts.push(f.result);
    rpsRatios.push(f.result.rps / p.result.rps);
    cpuRatios.push(f.cpu / p.cpu);
    peerCpus.push(p.cpu);
  }
  const list = (values: number[]) => values.map((v) => v.toFixed(2)).join(', ');
  console.log(
    `${frontDoor.label} / ${peer.label}, per round: requests/s ${list(rpsRatios)}; CPU per request ${list(cpuRatios)}`,
  );
  console.log(
    `${frontDoor.label} / ${peer.label}, median: requests/s ${median(rpsRatios).toFixed(2)}, CPU per request ${median(cpuRatios).toFixed(2)}×`,
  );
  const byRps = [...fronts].sort((a, b) => a.rps - b.rps);
  return {
    medianFront: byRps[Math.floor(byRps.length / 2)],
    rpsRatio: median(rpsRatios),
    cpuRatio: median(cpuRatios),
    peerCpu: median(peerCpus),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Two equal halves of load, each with its share of aborted requests: memory that keeps
 * growing in the second half, after the first has warmed every pool and buffer, is a leak.
 */
async function memoryCheck(frontDoor: ChildProcess, port: number, rps: number): Promise<void> {
  const aborted = Math.round(MEMORY_REQUESTS * ABORT_SHARE);
  console.log('');
  console.log(
    `memory: ~${MEMORY_REQUESTS} requests through the front door, ${aborted} of them aborted by the client`,
  );
  const before = await statsOf(frontDoor);
  const first = await loadWithAborts(port, rps, (MEMORY_REQUESTS - aborted) / 2, aborted / 2);
  const middle = await statsOf(frontDoor);
  const second = await loadWithAborts(port, rps, (MEMORY_REQUESTS - aborted) / 2, aborted / 2);
  const after = await statsOf(frontDoor);
  const completed = first.completed + second.completed;
  const abortedDone = first.aborted + second.aborted;
  console.log(`  completed: ${completed}, aborted by clients: ${abortedDone}`);
  console.log(
    `  RSS       before ${mb(before.rss)}   half-way ${mb(middle.rss)}   after ${mb(after.rss)}   change ${percent(before.rss, after.rss)} (second half ${percent(middle.rss, after.rss)})`,
  );
  console.log(
    `  heap used before ${mb(before.heapUsed)}   half-way ${mb(middle.heapUsed)}   after ${mb(after.heapUsed)}   change ${percent(before.heapUsed, after.heapUsed)} (second half ${percent(middle.heapUsed, after.heapUsed)})`,
  );
  reportGoal(
    {
      what: 'front door RSS change over the second half of the run (after warm-up), either way',
      kind: 'at most',
      limit: 10,
      unit: '%',
    },
    Math.abs(((after.rss - middle.rss) / middle.rss) * 100),
  );
  const stuck = after.inFlight.reduce((sum, m) => sum + m.inFlight, 0);
  console.log(`  requests still counted in flight after the run: ${stuck}`);
}

async function loadWithAborts(
  port: number,
  rps: number,
  completedTarget: number,
  abortCount: number,
): Promise<{ completed: number; aborted: number }> {
  const aborting = abortingClients(port, Math.round(abortCount));
  let completed = 0;
  while (completed < completedTarget) {
    const remaining = completedTarget - completed;
    const seconds = Math.min(30, Math.max(2, Math.ceil(remaining / Math.max(1000, rps * 0.8))));
    const run = await wrk(`http://127.0.0.1:${port}/api/v1/bench`, 32, seconds);
    if (!(run.requests > 0)) break;
    completed += run.requests;
  }
  const aborted = await aborting;
  await sleep(500);
  return { completed, aborted };
}

function percent(from: number, to: number): string {
  const change = ((to - from) / from) * 100;
  return `${change >= 0 ? '+' : ''}${change.toFixed(1)}%`;
}

// ---------------------------------------------------------------- load generators

function wrk(url: string, connections: number, seconds: number, script?: string): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const args = [
      '-t2',
      `-c${connections}`,
      `-d${seconds}s`,
      '--latency',
      ...(script ? ['-s', script] : []),
      url,
    ];
    const child = spawn('wrk', args);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(parseWrk(out)));
  });
}

function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const errors = /Socket errors:.*|Non-2xx.*/.exec(out)?.[0] ?? 'none';
  return { rps, requests, p50Ms: wrkLatency(out, '50%'), p99Ms: wrkLatency(out, '99%'), errors };
}

function wrkLatency(out: string, percentile: string): number {
  const match = new RegExp(`${percentile.replace('%', '%')}\\s+([\\d.]+)(us|ms|s)`).exec(out);
  if (!match) return NaN;
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
}

/**
 * Clients that give up: half of them hang up while the replica is still thinking, half
 * after the first bytes of a 1 MB response. Resolves with how many were aborted.
 */
async function abortingClients(port: number, count: number): Promise<number> {
  const concurrency = 32;
  let started = 0;
  let done = 0;
  const one = (index: number) =>
    new Promise<void>((resolve) => {
      const slow = index % 2 === 0;
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(`GET /api/v1/${slow ? 'slow' : 'big'} HTTP/1.1\r\nHost: bench\r\n\r\n`);
        if (slow) setTimeout(() => socket.destroy(), 5);
      });
      if (!slow) socket.once('data', () => socket.destroy());
      socket.on('error', () => {});
      socket.on('close', () => {
        done += 1;
        resolve();
      });
    });
  const worker = async () => {
    while (started < count) await one(started++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done;
}

// ---------------------------------------------------------------- helpers

function startRole(role: Role, args: number[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', __filename, role, ...args.map(String)],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    child.once('message', (msg) => (msg === 'ready' ? resolve(child) : reject(new Error(String(msg)))));
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
  });
}

interface FrontDoorStats {
  rss: number;
  heapUsed: number;
  cpuMicros: number;
  inFlight: { inFlight: number }[];
}

const LOOP_DELAY_RESOLUTION_MS = 1;

/** Asks the front door to sample its event-loop delay from now on. */
function startLoopDelay(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('message', () => resolve());
    child.send('loop-delay-start');
  });
}

/** Stops the sampling; resolves with its p99 in milliseconds. */
function loopDelayP99(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (msg) => resolve((msg as { p99Ms: number }).p99Ms));
    child.send('loop-delay');
  });
}

function statsOf(child: ChildProcess): Promise<FrontDoorStats> {
  return new Promise((resolve) => {
    child.once('message', (msg) => resolve(msg as FrontDoorStats));
    child.send('rss');
  });
}

/** CPU time (user + system) of a process and its direct children, from /proc, in microseconds. */
function processTreeCpuMicros(pid: number): number {
  const ticksPerSecond = 100;
  const pids = [pid, ...childPids(pid)];
  let ticks = 0;
  for (const p of pids) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended between listing and reading.
    }
  }
  return (ticks / ticksPerSecond) * 1e6;
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** The nginx running now: the exit handler stops it if the bench fails while it runs. */
let runningNginxStop: (() => void) | undefined;

/**
 * Starts nginx (`workers`) in front of `backendPorts`, waits until it answers `readyPath`, runs
 * `work` against its port and pid, and stops it.
 */
async function withNginx<T>(
  backendPorts: number[],
  workers: 'auto' | '1',
  work: (port: number, pid: number) => Promise<T>,
  readyPath?: string,
): Promise<T> {
  const port = await freePort();
  const nginx = startNginx(port, backendPorts, workers);
  runningNginxStop = nginx.stop;
  try {
    await waitForHttp(port, readyPath);
    return await work(port, nginx.pid);
  } finally {
    nginx.stop();
    runningNginxStop = undefined;
  }
}

function startNginx(
  port: number,
  backendPorts: number[],
  workers: 'auto' | '1',
): { stop: () => void; pid: number } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'proxy-bench-nginx-'));
  const conf = `
worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream replicas {
    ${backendPorts.map((p) => `server 127.0.0.1:${p};`).join('\n    ')}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://replicas;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
    }
  }
}`;
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const child = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
  const stop = () => {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  return { stop, pid: child.pid ?? -1 };
}

async function waitForHttp(port: number, probe = '/api/v1/bench'): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: probe }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing answers on ${port}`);
}

function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

function printRow(label: string, r: WrkResult, cpuMicrosPerRequest?: number): void {
  const cpu = cpuMicrosPerRequest === undefined ? '' : `   CPU ${cpuMicrosPerRequest.toFixed(1)} µs/req`;
  console.log(
    `${label.padEnd(24)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${r.p50Ms.toFixed(2)} ms   p99 ${r.p99Ms.toFixed(2)} ms${cpu}   errors: ${r.errors}`,
  );
}

/**
 * A wrk script whose connections each pause so that together they offer about `rate` requests/s.
 *
 * Each pause is drawn from an exponential distribution with that mean, so the arrivals of the
 * whole run are close to a Poisson stream, as independent clients are. One fixed pause for every
 * connection puts them in lockstep: after the first few responses they fire in bursts of up to
 * 32, and the p99 of every party (the backend direct included) measures waiting within a burst
 * rather than what a hop adds. wrk takes whole milliseconds, so each pause is rounded up or down
 * at random in proportion to its fraction, which keeps the mean. Each thread seeds its own
 * generator (wrk runs one Lua state per thread), or both would draw the same pauses.
 */
function pacingScript(rate: number, connections: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'proxy-bench-wrk-'));
  const file = path.join(dir, 'pace.lua');
  const meanDelayMs = (connections * 1000) / rate;
  writeFileSync(
    file,
    `local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", threads * 7919 + os.time())
end
function init(args)
  math.randomseed(seed)
end
function delay()
  local pause = -${meanDelayMs.toFixed(3)} * math.log(1 - math.random())
  return math.floor(pause + math.random())
end
`,
  );
  return file;
}

function ratio(a: number, b: number): string {
  return (a / b).toFixed(2);
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
