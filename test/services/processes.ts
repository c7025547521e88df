/** Service processes started exactly as the process runtime starts replicas. */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { bundledServiceCommand } from '../../scripts/services-bundle';
import { freePort } from '../support/requirements';

export const REPO_ROOT = resolve(__dirname, '..', '..');

export interface ServiceProcess {
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

export async function startService(
  service: 'users' | 'acts',
  env: Record<string, string>,
): Promise<ServiceProcess> {
  const port = await freePort();
  const [node, ...args] = bundledServiceCommand(service);
  const child = spawn(node!, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));

  // Ready when `_health` answers 200 (health probes are not counted), whatever the log level.
  let exitedEarly = false;
  const failure = exited.then((code) => {
    exitedEarly = true;
    throw new Error(`${service} exited with ${code} before serving:\n${output}`);
  });
  failure.catch(() => {});
  const deadline = Date.now() + 45_000;
  const ready = (async () => {
    for (;;) {
      if (exitedEarly) return;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${service} did not become healthy within 45 s:\n${output}`);
      }
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/_health`, {
          signal: AbortSignal.timeout(1000),
        });
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  await Promise.race([ready, failure]);
  if (exitedEarly) await failure;

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
