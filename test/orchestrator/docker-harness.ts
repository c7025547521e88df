/**
 * Runs the real orchestrator (`orchestrator/main.ts`) as a child process against the local
 * Docker engine, with a temporary config, and reads what the course's grader reads:
 * `docker ps`, `docker port`, the replicas' own `_count`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { canBind, httpGet, waitFor } from './runtime-contract';

const run = promisify(execFile);
const repoRoot = path.resolve(__dirname, '../..');

export interface LogLine {
  msg: string;
  [field: string]: unknown;
}

export interface RunningOrchestrator {
  child: ChildProcess;
  logs: LogLine[];
  status(): Promise<StatusSnapshot>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

export interface StatusSnapshot {
  pools: {
    name: string;
    desiredReplicas: number;
    replicas: { port: number; id: string | null; state: string; inRotation: boolean }[];
  }[];
}

/** `count` consecutive ports free on every address (containers publish on 0.0.0.0). */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const first = 20000 + Math.floor(Math.random() * 20000);
    let free = true;
    for (let port = first; port < first + count && free; port++)
      free = (await canBind(port, '0.0.0.0')) && (await canBind(port));
    if (free) return first;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

export async function startOrchestrator(
  config: object,
  args: string[] = [],
  adminPort?: number,
): Promise<RunningOrchestrator> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orchestrator-docker-'));
  const configFile = path.join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'orchestrator/main.ts', '--config', configFile, ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: LogLine[] = [];
  let stderr = '';
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const admin = adminPort ?? (config as { admin: { port: number } }).admin.port;

  const failedToStart = exited.then(() => {
    throw new Error(`orchestrator exited ${child.exitCode}: ${stderr}`);
  });
  failedToStart.catch(() => {});
  try {
    await Promise.race([
      waitFor('the orchestrator to listen', async () => logs.some((l) => l.msg === 'listening'), 60_000),
      failedToStart,
    ]);
  } catch (error) {
    // A start that timed out must not leave an orchestrator running behind the test.
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    child,
    logs,
    async status() {
      const answer = await httpGet(admin, '/status');
      return JSON.parse(answer.body) as StatusSnapshot;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ContainerRow {
  id: string;
  port: number;
  image: string;
  names: string;
}

/** Our pool's containers on the given ports, as `docker ps` lists them (running ones only). */
export async function containersOn(pool: string, ports: number[]): Promise<ContainerRow[]> {
  const { stdout } = await run('docker', [
    'ps',
    '--no-trunc',
    '--filter',
    `label=selfieless.pool=${pool}`,
    '--format',
    '{{.ID}}\t{{.Label "selfieless.port"}}\t{{.Image}}\t{{.Names}}',
  ]);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, port, image, names] = line.split('\t');
      return { id, port: Number(port), image, names };
    })
    .filter((c) => ports.includes(c.port))
    .sort((a, b) => a.port - b.port);
}

export async function dockerPort(id: string): Promise<string> {
  return (await run('docker', ['port', id])).stdout;
}

export async function exists(id: string): Promise<boolean> {
  try {
    await run('docker', ['container', 'inspect', id]);
    return true;
  } catch {
    return false;
  }
}

/** Removes whatever a test left on its ports (running or not). */
export async function removeContainersOn(pool: string, ports: number[]): Promise<void> {
  const { stdout } = await run('docker', [
    'ps',
    '-a',
    '--no-trunc',
    '--filter',
    `label=selfieless.pool=${pool}`,
    '--format',
    '{{.ID}}\t{{.Label "selfieless.port"}}',
  ]);
  const ids = stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t'))
    .filter(([, port]) => ports.includes(Number(port)))
    .map(([id]) => id);
  if (ids.length > 0) await run('docker', ['rm', '-f', ...ids]);
}

export async function countOn(port: number): Promise<number> {
  const answer = await httpGet(port, '/api/v1/_count');
  return (JSON.parse(answer.body) as number[])[0];
}

/** This test process's owner label: a developer's running system on the same engine is never touched. */
const TEST_OWNER = `test-orchestrator-${process.pid}`;

export function dockerConfig(options: {
  pool: string;
  firstPort: number;
  listenPort: number;
  adminPort: number;
  windowSeconds?: number;
  health?: object;
  env?: Record<string, string>;
  autoscale?: boolean;
  minReplicas?: number;
  publishHost?: string;
}): object {
  return {
    listen: { host: '127.0.0.1', port: options.listenPort },
    admin: { host: '127.0.0.1', port: options.adminPort },
    runtime: { kind: 'docker', publishHost: options.publishHost ?? '127.0.0.1', owner: TEST_OWNER },
    health: {
      intervalMs: 1000,
      timeoutMs: 800,
      failureThreshold: 3,
      startupGraceMs: 15000,
      backoffInitialMs: 500,
      backoffMaxMs: 5000,
      ...options.health,
    },
    scaling: { windowSeconds: options.windowSeconds ?? 120, requestsPerReplica: 20 },
    teardownOnExit: false,
    pools: [
      {
        name: options.pool,
        image: 'acts:latest',
        firstPort: options.firstPort,
        internalPort: 8000,
        env: { DATABASE_URL: 'sqlite:/tmp/acts.db', LOG_LEVEL: 'warn', ...options.env },
        minReplicas: options.minReplicas ?? 1,
        maxReplicas: 4,
        autoscale: options.autoscale ?? true,
        pathPrefixes: ['/api/v1/'],
      },
    ],
  };
}

/** A JSON request on a fresh connection. */
export function request(
  port: number,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        timeout: 10_000,
        headers:
          payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}
