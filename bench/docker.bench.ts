/**
 * Docker replicas, measured against local processes in the same run:
 * - replacement: from the decision (remove the old replica) to the new one answering `_health`,
 *   with a floor from the same run: the same replacement of a container from the same image
 *   running a bare node:http server instead of the service (what the engine and node cost);
 * - exit notice: from `docker kill` / `kill -9` to the runtime's onExit (what takes a replica
 *   out of rotation before any probe);
 * - image sizes;
 * - the orchestrator's own CPU per proxied request: the real orchestrator process with two acts
 *   containers behind its front door under wrk, against wrk straight at one container's port.
 * Skips (with the reason) when no Docker engine answers, and the CPU part when wrk is missing.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import {
  createDockerRuntime,
  type ContainerCreateRequest,
  type DockerApi,
} from '../orchestrator/docker-runtime';
import { silentLogger } from '../common/log';
import { createProcessRuntime } from '../orchestrator/process-runtime';
import type { ContainerRuntime, ReplicaInfo, ReplicaSpec } from '../orchestrator/runtime';
import { ensureImages, imageName, SERVICES } from '../scripts/image-builder';
import { bundledServiceCommand } from '../scripts/services-bundle';
import {
  dockerConfig,
  freePortRange,
  request,
  startOrchestrator,
  type RunningOrchestrator,
} from '../test/orchestrator/docker-harness';
import { waitFor } from '../test/orchestrator/runtime-contract';
import { reportGoal } from './goals';

const REPLACEMENT_GOAL_MS = 800;
/** Docker replacement → healthy before the replica's start-up work (median, quiet machine). */
const BEFORE_REPLACEMENT_MS = 1084;

const run = promisify(execFile);
const ROUNDS = 10;
const repoRoot = path.resolve(__dirname, '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: '/api/v1/_health', agent: false, timeout: 1000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

async function untilHealthy(port: number): Promise<void> {
  const giveUpAt = Date.now() + 30_000;
  while (!(await healthy(port))) {
    if (Date.now() > giveUpAt) throw new Error(`port ${port} never became healthy`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const spread = (values: number[]) => `${Math.min(...values).toFixed(0)}-${Math.max(...values).toFixed(0)} ms`;
const loadAverage = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(1))
    .join(' ');

const BARE_SERVER =
  "require('http').createServer((q,r)=>{q.resume();r.writeHead(200,{'content-type':'application/json'});r.end('{}')}).listen(process.env.PORT)";

/**
 * The floor of a Docker replacement: the same runtime, image, labels and port binding, but
 * the container runs a bare node:http server instead of the service.
 */
function bareDockerApi(): DockerApi {
  const docker = new Docker() as unknown as DockerApi;
  return Object.assign(Object.create(docker) as DockerApi, {
    createContainer: (request: ContainerCreateRequest) =>
      docker.createContainer({ ...request, Cmd: ['node', '-e', BARE_SERVER] } as ContainerCreateRequest),
  });
}

const ms = (value: number) => `${value.toFixed(0)} ms`;

interface Party {
  readonly runtime: ContainerRuntime;
  readonly spec: ReplicaSpec;
}

/**
 * From the decision (remove the old replica) to the new one answering `_health`, ROUNDS times
 * per party, the parties taking turns so that a burst of other work lands on all of them.
 */
async function replacements(parties: Party[]): Promise<{ samples: number[][]; proxies: number }> {
  const current = await Promise.all(
    parties.map(async ({ runtime, spec }) => {
      const replica = await runtime.start(spec);
      await untilHealthy(spec.port);
      return replica;
    }),
  );
  const proxies = dockerProxyCount();
  const samples = parties.map((): number[] => []);
  for (let i = 0; i < ROUNDS; i++) {
    for (const [p, { runtime, spec }] of parties.entries()) {
      const decided = performance.now();
      await runtime.remove(current[p]!.id);
      current[p] = await runtime.start(spec);
      await untilHealthy(spec.port);
      samples[p]!.push(performance.now() - decided);
    }
  }
  await Promise.all(parties.map(({ runtime }, p) => runtime.remove(current[p]!.id)));
  return { samples, proxies };
}

/** From a kill from outside to the runtime's onExit, ROUNDS times. */
async function exitNotices(
  { runtime, spec }: Party,
  killFromOutside: (replica: ReplicaInfo) => Promise<void>,
): Promise<number[]> {
  const notices: number[] = [];
  let current = await runtime.start(spec);
  await untilHealthy(spec.port);
  for (let i = 0; i < ROUNDS; i++) {
    const victim = current;
    const noticed = new Promise<number>((resolve) => {
      const unsubscribe = runtime.onExit((exit) => {
        if (exit.id !== victim.id) return;
        unsubscribe();
        resolve(performance.now());
      });
    });
    const killed = performance.now();
    await killFromOutside(victim);
    notices.push((await noticed) - killed);
    await runtime.remove(victim.id);
    current = await runtime.start(spec);
    await untilHealthy(spec.port);
  }
  await runtime.remove(current.id);
  return notices;
}

async function main(): Promise<void> {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    console.log('skipped: no Docker engine answers `docker info`');
    return;
  }
  await ensureImages({ log: (line) => console.log(`  ${line}`) });

  for (const service of SERVICES) {
    const { stdout } = await run('docker', ['image', 'inspect', '--format', '{{.Size}}', imageName(service)]);
    console.log(`image ${imageName(service)}: ${(Number(stdout) / 1e6).toFixed(1)} MB`);
  }

  const loadBefore = loadAverage();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'docker-bench-'));
  const processRuntime = createProcessRuntime({ cwd: repoRoot, logDir: path.join(dataDir, 'logs') });
  const processPort = await freePort();
  const owner = `bench-${randomBytes(3).toString('hex')}`;
  const dockerRuntime = createDockerRuntime({ publishHost: '127.0.0.1', logger: silentLogger, owner });
  const bareRuntime = createDockerRuntime({
    publishHost: '127.0.0.1',
    logger: silentLogger,
    owner: `${owner}-bare`,
    docker: bareDockerApi(),
  });
  const inContainer = (port: number, specHash: string): ReplicaSpec => ({
    pool: 'bench',
    port,
    internalPort: 8000,
    image: 'acts:latest',
    env: { DATABASE_URL: 'sqlite:/tmp/acts.db', LOG_LEVEL: 'warn' },
    specHash,
  });
  const processParty: Party = {
    runtime: processRuntime,
    spec: {
      pool: 'bench',
      port: processPort,
      internalPort: processPort,
      command: bundledServiceCommand('acts'),
      env: { DATABASE_URL: `sqlite:${path.join(dataDir, 'acts.db')}`, LOG_LEVEL: 'warn' },
      specHash: 'bench',
    },
  };
  const dockerParty: Party = { runtime: dockerRuntime, spec: inContainer(await freePort(), 'bench') };
  const bareParty: Party = { runtime: bareRuntime, spec: inContainer(await freePort(), 'bare') };
  try {
    const {
      samples: [processReplacements, dockerReplacements, bareReplacements],
      proxies,
    } = await replacements([processParty, dockerParty, bareParty]);
    const processNotices = await exitNotices(processParty, async (replica) => {
      process.kill(Number(replica.id.replace('pid:', '')), 'SIGKILL');
    });
    const dockerNotices = await exitNotices(dockerParty, async (replica) => {
      await run('docker', ['kill', replica.id]);
    });

    console.log(`\nmedians of ${ROUNDS}            process      docker    docker/process`);
    const row = (label: string, p: number, d: number) =>
      console.log(
        `${label.padEnd(28)}${ms(p).padStart(8)}${ms(d).padStart(12)}${`${(d / p).toFixed(2)}x`.padStart(14)}`,
      );
    row('replacement → healthy', median(processReplacements!), median(dockerReplacements!));
    row('kill → exit noticed', median(processNotices), median(dockerNotices));
    console.log('\n(kill → exit noticed includes the `docker kill` CLI round trip for Docker.)');
    const goal = REPLACEMENT_GOAL_MS;
    const docker = median(dockerReplacements!);
    const bare = median(bareReplacements!);
    console.log(
      `Docker replacement → healthy: ${ms(docker)} (${spread(dockerReplacements!)})` +
        ` (${BEFORE_REPLACEMENT_MS} ms before this work, quiet machine)`,
    );
    console.log(
      `  floor, the same replacement of a container of the same image running a bare node:http server, rounds taken in turn: ` +
        `${ms(bare)} (${spread(bareReplacements!)}); replica - floor ${ms(docker - bare)}, replica / floor ${(docker / bare).toFixed(2)}`,
    );
    console.log(
      `  ports published ${proxies > 0 ? `through docker-proxy (${proxies} processes; the engine starts and stops one per replacement)` : 'with NAT rules alone, as on the hosts'}`,
    );
    console.log(`  load average ${loadBefore} before, ${loadAverage()} after`);
    reportGoal(
      { what: 'Docker replacement → healthy, median', kind: 'at most', limit: goal, unit: ' ms' },
      docker,
      `the same replacement of a bare node:http container takes ${ms(bare)} in this run: the engine's part`,
    );
  } finally {
    await processRuntime.removeAll();
    await processRuntime.close();
    for (const runtime of [dockerRuntime, bareRuntime]) {
      await runtime.removeAll();
      await runtime.close();
    }
    rmSync(dataDir, { recursive: true, force: true });
  }

  await frontDoorCpu();
}

// ---------------------------------------------------------------- orchestrator CPU per request

const WRK_SECONDS = 10;
const WARM_UP_SECONDS = 6;
const WRK_CONNECTIONS = 32;
const LOAD_PATH = '/api/v1/categories';

interface WrkResult {
  requests: number;
  rps: number;
  errors: string;
}

function wrk(port: number, seconds: number): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', [
      '-t2',
      `-c${WRK_CONNECTIONS}`,
      `-d${seconds}s`,
      `http://127.0.0.1:${port}${LOAD_PATH}`,
    ]);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
      if (!Number.isFinite(requests) || !Number.isFinite(rps)) reject(new Error(`wrk said: ${out}`));
      else resolve({ requests, rps, errors: /Socket errors:.*|Non-2xx.*/.exec(out)?.[0] ?? 'none' });
    });
  });
}

/** utime + stime of one process (all its threads), from /proc, in microseconds. */
function processCpuMicros(pid: number, ticksPerSecond: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself hold spaces: utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1e6;
}

/** How many `docker-proxy` processes run: the engine's userland proxy, one per published port. */
function dockerProxyCount(): number {
  return readdirSync('/proc').filter((entry) => {
    if (!/^\d+$/.test(entry)) return false;
    try {
      return readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'docker-proxy';
    } catch {
      return false; // exited while listed
    }
  }).length;
}

async function removeOwnedContainers(owner: string): Promise<void> {
  const { stdout } = await run('docker', ['ps', '-aq', '--filter', `label=selfieless.owner=${owner}`]);
  const ids = stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await run('docker', ['rm', '-f', ...ids]);
}

async function frontDoorCpu(): Promise<void> {
  console.log('\norchestrator CPU per proxied request (docker runtime, 2 acts containers)');
  if (!existsSync('/usr/bin/wrk')) {
    console.log('  skipped: wrk is not installed at /usr/bin/wrk');
    return;
  }
  const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
  const owner = `bench-${process.pid}`;
  const pool = 'acts';
  const firstPort = await freePortRange(2);
  const listenPort = await freePort();
  const adminPort = await freePort();
  const base = dockerConfig({ pool, firstPort, listenPort, adminPort, autoscale: false, minReplicas: 2 }) as {
    runtime: object;
  };
  const config = { ...base, runtime: { ...base.runtime, owner } };

  let orchestrator: RunningOrchestrator | undefined;
  try {
    orchestrator = await startOrchestrator(config, ['--down']);
    const running = orchestrator;
    await waitFor(
      'both acts replicas in rotation',
      async () => {
        const { pools } = await running.status();
        const replicas = pools.find((p) => p.name === pool)?.replicas ?? [];
        return replicas.filter((r) => r.inRotation).length === 2;
      },
      90_000,
    );
    // One category on each replica (each has its own SQLite), so every answer is a 200 with a body.
    for (const port of [firstPort, firstPort + 1]) {
      const created = await request(port, 'POST', '/api/v1/categories', ['bench']);
      if (created.status !== 201)
        throw new Error(`seeding replica ${port}: ${created.status} ${created.body}`);
    }

    // Warm-up as in the proxy bench: after 2 s the replicas and the orchestrator still compile
    // (a 3 s run right after start served a third of the rate of the runs that followed).
    await wrk(listenPort, WARM_UP_SECONDS);
    const proxies = dockerProxyCount();
    const pid = running.child.pid!;
    const cpuBefore = processCpuMicros(pid, ticksPerSecond);
    const front = await wrk(listenPort, WRK_SECONDS);
    const cpuAfter = processCpuMicros(pid, ticksPerSecond);
    const direct = await wrk(firstPort, WRK_SECONDS);

    const cpuPerRequest = (cpuAfter - cpuBefore) / front.requests;
    console.log(
      `  GET ${LOAD_PATH}, wrk -t2 -c${WRK_CONNECTIONS} -d${WRK_SECONDS}s, ${os.cpus().length} cores shared by everything`,
    );
    console.log(
      `  direct to one container   ${direct.rps.toFixed(0).padStart(8)} req/s   errors: ${direct.errors}`,
    );
    console.log(
      `  front door (2 replicas)   ${front.rps.toFixed(0).padStart(8)} req/s   errors: ${front.errors}`,
    );
    console.log(`  front door / direct       ${(front.rps / direct.rps).toFixed(2).padStart(8)}x`);
    console.log(
      proxies > 0
        ? `  this engine publishes ports through docker-proxy (${proxies} processes): every proxied request ` +
            `crosses one; the hosts run without it ("userland-proxy": false, lib/docker-daemon.ts)`
        : '  this engine publishes ports with NAT rules alone (no docker-proxy), as the hosts do (lib/docker-daemon.ts)',
    );
    console.log(
      `  orchestrator CPU          ${cpuPerRequest.toFixed(1).padStart(8)} µs/request ` +
        `(${((cpuAfter - cpuBefore) / 1e6).toFixed(2)} s CPU over ${front.requests} requests)`,
    );
  } finally {
    await orchestrator?.stop();
    await removeOwnedContainers(owner);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
