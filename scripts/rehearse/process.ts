/**
 * Child processes with deadlines: every external command the rehearsal runs ends, one way or
 * the other, within its time limit, so no step can hang the run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface RunResult {
  ok: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  cwd?: string;
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
}

/** Runs a command to completion; never throws. */
export function run(command: string, args: string[], options: RunOptions = {}): RunResult {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    cwd: options.cwd,
    input: options.input,
    env: options.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    ok: result.status === 0,
    code: result.status,
    stdout: result.stdout ?? '',
    stderr: (result.stderr ?? '') + (result.error ? String(result.error.message) : ''),
  };
}

/** Runs a command and returns its stdout, or throws with its stderr tail. */
export function must(command: string, args: string[], options: RunOptions = {}): string {
  const result = run(command, args, options);
  if (!result.ok) throw new Error(`${command} ${args.slice(0, 4).join(' ')} failed: ${tail(result)}`);
  return result.stdout;
}

export function tail(result: RunResult, lines = 12): string {
  return (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-lines).join('\n');
}

/** Asynchronous run, for long commands (builds, debootstrap) that must not block timers. */
export function runAsync(
  command: string,
  args: string[],
  options: RunOptions & { onLine?: (line: string) => void } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10 * 60_000);
    const lines = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) options.onLine?.(line);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.length > 4_000_000) stdout = stdout.slice(-2_000_000);
      lines(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.length > 4_000_000) stderr = stderr.slice(-2_000_000);
      lines(chunk);
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, code: null, stdout, stderr: stderr + error.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, code, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `probe` returns a value or the deadline passes. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs = 1000,
): Promise<T> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > giveUpAt)
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Ends a process the rehearsal started, found by the pid file it left, and only when its
 * command line still names `marker` (a pid can be reused by another program).
 */
export function endOwnedProcess(pidFile: string, marker: string, signal: NodeJS.Signals = 'SIGTERM'): void {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return;
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) return;
    process.kill(pid, signal);
  } catch {
    // no pid file, or the process is gone
  }
}
