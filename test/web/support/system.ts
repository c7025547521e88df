/**
 * The whole system for browser tests: the orchestrator's front door serving the built UI at
 * `/` and routing the API to one users and one acts replica (local processes, SQLite files in
 * a temporary folder), every port a free one. Stopping it always ends every process it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../support/requirements';

const REPO = path.resolve(__dirname, '../../..');
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

export interface RunningSystem {
  baseUrl: string;
  /** Everything the system printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

function replicaCommand(service: 'users' | 'acts'): string[] {
  return [process.execPath, '--import', 'tsx', `services/${service}/main.ts`];
}

async function orchestratorConfig(dataDir: string, port: number, staticDir: string): Promise<object> {
  const origin = `http://127.0.0.1:${port}`;
  const fixedPool = { minReplicas: 1, maxReplicas: 1, autoscale: false };
  return {
    listen: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: await freePort() },
    runtime: { kind: 'process', logDir: path.join(dataDir, 'logs') },
    health: { intervalMs: 1000, timeoutMs: 800, failureThreshold: 3, startupGraceMs: 30000 },
    staticDir,
    pools: [
      {
        name: 'users',
        command: replicaCommand('users'),
        firstPort: await freePort(),
        env: { DATABASE_URL: `sqlite:${path.join(dataDir, 'users.db')}` },
        pathPrefixes: ['/api/v1/users'],
        ...fixedPool,
      },
      {
        name: 'acts',
        command: replicaCommand('acts'),
        firstPort: await freePort(),
        env: { DATABASE_URL: `sqlite:${path.join(dataDir, 'acts.db')}`, USERS_URL: origin, PUBLIC_ORIGIN: origin },
        pathPrefixes: ['/api/v1/'],
        ...fixedPool,
      },
    ],
  };
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

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startSystem(staticDir: string): Promise<RunningSystem> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'selfieless-web-'));
  const port = await freePort();
  const configFile = path.join(dataDir, 'orchestrator.json');
  writeFileSync(configFile, JSON.stringify(await orchestratorConfig(dataDir, port, staticDir)));

  // Its own process group: a last-resort kill reaches everything it started.
  const child = spawn(process.execPath, ['--import', 'tsx', 'orchestrator/main.ts', '--config', configFile], {
    cwd: REPO,
    env: { ...process.env, LOG_LEVEL: 'warn' },
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
