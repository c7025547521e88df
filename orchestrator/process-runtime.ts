/**
 * Replicas as local child processes: the embedded runtime of `npm start`, needing nothing but
 * Node. Each replica leads its own process group so that removing it kills everything it
 * spawned, and its output goes to a per-replica log file rather than the orchestrator's own
 * JSON log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, writeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ContainerRuntime, ReplicaExit, ReplicaInfo, ReplicaSpec } from './runtime';
import { silentLogger, type Logger } from '../common/log';
import { ERROR_CODES, OrchestratorError } from './errors';

export interface ProcessRuntimeOptions {
  /** Working directory of every replica (the repository root). */
  cwd: string;
  /** Where `<pool>-<port>.log` files are appended. */
  logDir: string;
  logger?: Logger;
  /** Base environment of replicas; defaults to the orchestrator's own. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Upper bound on waiting for a removed replica's port to be released. */
  portReleaseTimeoutMs?: number;
}

export interface ProcessRuntime extends ContainerRuntime {
  /** Kills every replica this runtime started (child processes cannot be adopted by a later run). */
  removeAll(): Promise<void>;
}

interface Child {
  info: ReplicaInfo;
  process: ChildProcess;
  exited: Promise<void>;
}

/**
 * The replica's side of the lifeline (see the file): when present next to this module (it is
 * not in a bundled build, where replicas are containers), every replica watches a pipe that
 * closes when this process dies, and exits then.
 */
const LIFELINE_PRELOAD = path.join(__dirname, 'replica-lifeline.cjs');
/** The replica's descriptor number of the lifeline pipe (after stdin, stdout, stderr). */
const LIFELINE_FD = 3;

function lifelineEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!existsSync(LIFELINE_PRELOAD)) return env;
  const preload = `--require "${LIFELINE_PRELOAD}"`;
  return {
    ...env,
    NODE_OPTIONS: env.NODE_OPTIONS ? `${env.NODE_OPTIONS} ${preload}` : preload,
    SELFIELESS_LIFELINE_FD: String(LIFELINE_FD),
  };
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exited with code ${code}`;
}

/** Resolves once nothing accepts connections on the port any more. */
export async function waitForPortFree(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (!open) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the whole group is already gone.
  }
}

export function createProcessRuntime(options: ProcessRuntimeOptions): ProcessRuntime {
  const logger = options.logger ?? silentLogger;
  const portReleaseTimeoutMs = options.portReleaseTimeoutMs ?? 5000;
  const children = new Map<string, Child>();
  const listeners = new Set<(exit: ReplicaExit) => void>();
  mkdirSync(options.logDir, { recursive: true });

  async function start(spec: ReplicaSpec): Promise<ReplicaInfo> {
    if (!spec.command || spec.command.length === 0) {
      throw new OrchestratorError(
        ERROR_CODES.replicaSpec,
        `pool ${spec.pool}: the process runtime needs a command`,
      );
    }
    const [file, ...args] = spec.command as [string, ...string[]];
    const logFile = path.join(options.logDir, `${spec.pool}-${spec.port}.log`);
    const fd = openSync(logFile, 'a');
    writeSync(
      fd,
      `--- ${new Date().toISOString()} starting ${spec.command.join(' ')} on port ${spec.port}\n`,
    );
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        cwd: options.cwd,
        env: lifelineEnv({ ...(options.baseEnv ?? process.env), ...spec.env, PORT: String(spec.port) }),
        detached: true,
        // The fourth descriptor is the lifeline: this process holds its other end until it dies.
        stdio: ['ignore', fd, fd, 'pipe'],
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (error) {
      throw new OrchestratorError(
        ERROR_CODES.replicaStart,
        `could not start ${file} on port ${spec.port}: ${(error as Error).message}`,
        { cause: error },
      );
    } finally {
      // The child holds its own copy of the descriptor.
      closeSync(fd);
    }
    const pid = child.pid!;
    // The lifeline's end here is never read or written, and must not keep this process alive.
    (child.stdio[LIFELINE_FD] as net.Socket | null)?.unref();
    const info: ReplicaInfo = {
      id: `pid:${pid}`,
      pool: spec.pool,
      port: spec.port,
      specHash: spec.specHash,
      running: true,
    };
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        info.running = false;
        // Grandchildren of a crashed service must not keep holding its port.
        killGroup(pid);
        const exit: ReplicaExit = {
          id: info.id,
          pool: info.pool,
          port: info.port,
          reason: describeExit(code, signal),
        };
        for (const listener of listeners) {
          try {
            listener(exit);
          } catch (err) {
            logger.error('exit listener failed', { error: (err as Error).message });
          }
        }
        resolve();
      });
    });
    children.set(info.id, { info, process: child, exited });
    return { ...info };
  }

  async function remove(id: string): Promise<void> {
    const child = children.get(id);
    if (!child) return;
    const pid = child.process.pid!;
    killGroup(pid);
    await child.exited;
    children.delete(id);
    if (!(await waitForPortFree(child.info.port, portReleaseTimeoutMs))) {
      logger.warn('port still answers after its replica was removed', {
        pool: child.info.pool,
        port: child.info.port,
        id,
      });
    }
  }

  return {
    start,
    remove,
    async list() {
      return [...children.values()].map((c) => ({ ...c.info }));
    },
    onExit(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      listeners.clear();
    },
    async removeAll() {
      await Promise.all([...children.keys()].map((id) => remove(id)));
    },
  };
}
