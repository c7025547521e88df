/**
 * The whole system for browser tests, as `npm start` runs it: the orchestrator's front door
 * serving the web UI at `/` and routing the API to a users and an acts pool of local processes
 * with SQLite files in a temporary folder, every port a free one. Stopping it always ends
 * every process it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../support/requirements';

const REPO = path.resolve(__dirname, '../../..');
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const RUN_MARKER = 'SELFIELESS_WEB_TEST_RUN';

export interface RunningSystem {
  baseUrl: string;
  /** Everything the system printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** Whether nothing listens on the port, on any local address. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '0.0.0.0', exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** The first of `count` consecutive free ports (a pool's replicas take firstPort, firstPort + 1, ...). */
async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // Below the ephemeral range, where freePort() and outgoing connections take theirs.
    const first = 20_000 + Math.floor(Math.random() * 12_000);
    const ports = Array.from({ length: count }, (_, i) => first + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return first;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status === 200 || response.status === 204;
  } catch {
    return false;
  }
}

/** Ready when the page and both pools answer through the front door. */
async function waitUntilReady(baseUrl: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const probes = ['/', '/api/v1/users', '/api/v1/categories'].map((p) => baseUrl + p);
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the system exited before it was ready:\n${output()}`);
    }
    const ready = await Promise.all(probes.map(answers));
    if (ready.every(Boolean)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the system was not ready within ${READY_TIMEOUT_MS} ms:\n${output()}`);
}

/**
 * Every process started for this run carries RUN_MARKER=<id> in its environment (replicas
 * inherit it). Replicas lead their own process groups, so when the starter itself had to be
 * killed, this is how its replicas are still found and ended.
 */
function killMarkedProcesses(marker: string): void {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return; // no /proc: nothing more can be done here
  }
  for (const pid of pids) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`${RUN_MARKER}=${marker}`)) {
        process.kill(Number(pid), 'SIGKILL');
      }
    } catch {
      // Gone already, or not ours to read.
    }
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startSystem(): Promise<RunningSystem> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'selfieless-web-'));
  const marker = randomUUID();
  const port = await freePort();
  // Each pool may grow to 10 replicas on consecutive ports; `npm start` refuses taken ones.
  const replicaPorts = await freePortRange(20);
  const args = [
    '--port',
    String(port),
    '--data-dir',
    dataDir,
    '--replicas',
    '1',
    '--acts-first-port',
    String(replicaPorts),
    '--users-first-port',
    String(replicaPorts + 10),
    '--admin-port',
    '0',
  ];
  // `npm start` without npm and sh around it, so signals reach it directly. Its own
  // process group: a last-resort kill reaches everything it started.
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', ...args], {
    cwd: REPO,
    env: { ...process.env, LOG_LEVEL: 'warn', [RUN_MARKER]: marker },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let log = '';
  const collect = (chunk: Buffer): void => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const output = (): string => log;

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), STOP_TIMEOUT_MS).unref());
        if ((await Promise.race([exited(child).then(() => 'done' as const), timer])) === 'late') {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // The group is already gone.
          }
          await exited(child);
        }
      }
      killMarkedProcesses(marker);
      rmSync(dataDir, { recursive: true, force: true });
    })());

  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(baseUrl, child, output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { baseUrl, output, stop };
}
