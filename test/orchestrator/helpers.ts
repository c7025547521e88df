import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import net from 'node:net';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { parseConfig, type OrchestratorConfig } from '../../orchestrator/config';
import { createLogger } from '../../common/log';
import { createProcessRuntime, type ProcessRuntime } from '../../orchestrator/process-runtime';
import { startOrchestrator, type Orchestrator } from '../../orchestrator/orchestrator';
import type { PoolStatus } from '../../orchestrator/admin';

export const REPO_ROOT = path.resolve(__dirname, '../..');
/** A command run from the repository root, its stdout and stderr collected together. */
export interface CommandRun {
  child: ChildProcess;
  output: () => string;
  /** The exit code; null when the process died of a signal. */
  exited: Promise<number | null>;
}

export function runCommand(command: string, args: string[], options: SpawnOptions = {}): CommandRun {
  const child = spawn(command, args, { cwd: REPO_ROOT, ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/**
 * `npm start` in its own process group, as a terminal runs it, so Ctrl-C (or a kill) can be sent
 * to the group. npm itself may die of the SIGINT (exit null) while the system stops behind it.
 */
export function npmStart(args: string[]): CommandRun {
  return runCommand('npm', ['start', '--silent', '--', ...args], { detached: true });
}

/** Where an `npm start` under test listens and keeps its data, so suites can run side by side. */
export interface NpmStartPlace {
  port: number;
  actsFirstPort: number;
  usersFirstPort: number;
  dataDir: string;
}

/** `npm start` arguments for `place`, the admin dashboard on a free port, then `extra` options. */
export function npmStartArgs(place: NpmStartPlace, extra: string[] = []): string[] {
  return [
    '--port',
    String(place.port),
    '--data-dir',
    place.dataDir,
    '--acts-first-port',
    String(place.actsFirstPort),
    '--users-first-port',
    String(place.usersFirstPort),
    '--admin-port',
    '0',
    ...extra,
  ];
}

/** SIGKILL to a whole process group; one already gone is fine. */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export const FAKE_SERVICE = [process.execPath, '--import', 'tsx', 'test/support/fake-service.ts'];

export interface Reply {
  status: number;
  body: string;
  json<T = unknown>(): T;
}

/** One request over a fresh connection (no pooling, so nothing lingers between tests). */
export function request(
  port: number,
  method: string,
  urlPath: string,
  host = '127.0.0.1',
  timeoutMs = 10_000,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host, port, method, path: urlPath, agent: false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body, json: () => JSON.parse(body) });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} on ${port} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Polls until `check` holds; the suite's own timeout bounds the wait. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  pauseMs = 25,
  // A deadline of its own, so a poll outlives no test: after jest's timeout fails a test, an
  // endless loop here would keep the worker (and a --runInBand run) from ever exiting.
  deadlineMs = 180_000,
): Promise<T> {
  const giveUpAt = Date.now() + deadlineMs;
  let lastError: unknown;
  while (Date.now() < giveUpAt) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      // Not yet: connection refused while a replica boots, and the like.
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  throw new Error(`condition not met within ${deadlineMs} ms${lastError ? `: ${String(lastError)}` : ''}`);
}

export async function isListening(port: number): Promise<boolean> {
  try {
    await request(port, 'GET', '/api/v1/_count', '127.0.0.1', 2_000);
    return true;
  } catch {
    return false;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** The first of `count` consecutive free ports, away from the system's well-known 8000/8100/8080. */
export async function freePortRange(count: number): Promise<number> {
  for (;;) {
    // Below the kernel's ephemeral range (32768+), where outgoing connections would collide.
    const first = 20_000 + Math.floor(Math.random() * 12_000);
    let ok = true;
    for (let p = first; p < first + count && ok; p++) ok = await portFree(p);
    if (ok) return first;
  }
}

export interface PoolOverrides {
  minReplicas?: number;
  maxReplicas?: number;
  autoscale?: boolean;
  env?: Record<string, string>;
}

export interface TestOrchestrator {
  orchestrator: Orchestrator;
  runtime: ProcessRuntime;
  config: OrchestratorConfig;
  firstPort: number;
  logs: Array<Record<string, unknown>>;
  pool(): PoolStatus;
  front(method: string, urlPath: string): Promise<Reply>;
  /** Stops and removes every replica. */
  stop(): Promise<void>;
}

/** A whole orchestrator in this process over the fake service, with short intervals. */
export async function startTestOrchestrator(
  pool: PoolOverrides = {},
  scaling: { windowSeconds?: number; requestsPerReplica?: number } = {},
  existingRuntime?: ProcessRuntime,
  firstPortGiven?: number,
): Promise<TestOrchestrator> {
  const maxReplicas = pool.maxReplicas ?? 4;
  const firstPort = firstPortGiven ?? (await freePortRange(maxReplicas));
  const config = parseConfig({
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    runtime: { kind: 'process' },
    // Crashes and exits are noticed at once; only hangs wait for the threshold, so generous
    // timeouts cost nothing and keep a busy machine's slow answer from counting as a failure.
    health: {
      intervalMs: 500,
      timeoutMs: 450,
      failureThreshold: 3,
      startupGraceMs: 10_000,
      backoffInitialMs: 300,
      backoffMaxMs: 1_200,
    },
    scaling: {
      windowSeconds: scaling.windowSeconds ?? 120,
      requestsPerReplica: scaling.requestsPerReplica ?? 20,
    },
    pools: [
      {
        name: 'fake',
        command: FAKE_SERVICE,
        firstPort,
        env: pool.env ?? {},
        minReplicas: pool.minReplicas ?? 1,
        maxReplicas,
        autoscale: pool.autoscale ?? true,
      },
    ],
  });
  const runtime =
    existingRuntime ??
    createProcessRuntime({ cwd: REPO_ROOT, logDir: mkdtempSync(path.join(os.tmpdir(), 'orch-logs-')) });
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger('test', 'debug', (line) =>
    logs.push(JSON.parse(line) as Record<string, unknown>),
  );
  const orchestrator = await startOrchestrator(config, {
    runtime,
    runtimeName: 'process',
    logger,
    auditIntervalMs: 500,
    closeGraceMs: 5_000,
  });
  return {
    orchestrator,
    runtime,
    config,
    firstPort,
    logs,
    pool: () => orchestrator.status().pools[0]!,
    front: (method, urlPath) => request(orchestrator.frontDoorPort, method, urlPath),
    async stop() {
      await orchestrator.stop({ teardown: true });
      await runtime.removeAll();
    },
  };
}

/** Waits until the pool has exactly these ports, all healthy and in rotation. */
export function allInRotation(t: TestOrchestrator, ports: number[]): Promise<PoolStatus> {
  return eventually(() => {
    const pool = t.pool();
    const ready = pool.replicas.filter((r) => r.state === 'running' && r.inRotation);
    return pool.replicas.length === ports.length && ready.map((r) => r.port).join() === ports.join() && pool;
  });
}
