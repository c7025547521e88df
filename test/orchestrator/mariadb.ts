/**
 * A MariaDB server of a suite's own: installed into a temp dir and listening on a free
 * loopback port, so stopping, pausing or killing it touches nothing else on the machine.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createConnection } from 'mysql2/promise';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/requirements';
import { parseProcStat } from '../../common/proc-stat';

const MARIADBD = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';

/** Whether a private server can be made here; suites skip without one unless REQUIRE_MYSQL=1. */
export const mariadbAvailable = existsSync(MARIADBD) && existsSync(INSTALL_DB);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Mariadb {
  private child: ChildProcess | undefined;
  private started = false;
  private constructor(
    readonly dir: string,
    private port: number,
  ) {}

  static async install(): Promise<Mariadb> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'suite-mariadb-'));
    execFileSync(
      INSTALL_DB,
      [
        '--no-defaults',
        `--datadir=${dir}/data`,
        '--user=root',
        '--skip-test-db',
        '--auth-root-authentication-method=normal',
      ],
      { stdio: 'ignore' },
    );
    return new Mariadb(dir, await freePort());
  }

  /** `mysql://` URL of one database on this server. */
  url(database: string): string {
    return `mysql://root@127.0.0.1:${this.port}/${database}`;
  }

  /**
   * Starts the server and returns once it answers on its port as itself (its data directory):
   * the port was free when chosen, but another suite's server may have taken it since, and a
   * connection to that one would look just like ours. On the first start a taken port is
   * swapped for another; a restart must keep the port its clients were given.
   */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (await this.startOnce()) {
        this.started = true;
        return;
      }
      if (this.started || attempt === 5)
        throw new Error(`mariadbd could not listen on 127.0.0.1:${this.port} (taken by another process)`);
      this.port = await freePort();
    }
  }

  /** true once this server answers on the port; false when it exited (the port was taken). */
  private async startOnce(): Promise<boolean> {
    const child = spawn(
      MARIADBD,
      [
        '--no-defaults',
        `--datadir=${this.dir}/data`,
        `--socket=${this.dir}/mysqld.sock`,
        `--pid-file=${this.dir}/mysqld.pid`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        '--user=root',
        '--skip-grant-tables',
        '--skip-name-resolve',
        '--innodb-buffer-pool-size=16M',
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) return false;
      const dataDir = await this.answeringDataDir();
      if (dataDir !== undefined && path.resolve(dataDir) === path.resolve(this.dir, 'data')) return true;
      await sleep(100);
    }
  }

  /** The data directory of whatever MariaDB answers on the port, if any. */
  private async answeringDataDir(): Promise<string | undefined> {
    try {
      const connection = await createConnection({
        host: '127.0.0.1',
        port: this.port,
        user: 'root',
        connectTimeout: 1_000,
      });
      try {
        const [rows] = await connection.query('SELECT @@datadir AS dir');
        return (rows as { dir: string }[])[0]?.dir;
      } finally {
        await connection.end();
      }
    } catch {
      return undefined;
    }
  }

  /** The server hangs: connections stay open and are accepted by the kernel, but nothing answers. */
  async pause(): Promise<void> {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error('mariadbd is not running');
    process.kill(pid, 'SIGSTOP');
    // kill() returns once the signal is sent; every thread stops when it next runs. Wait for
    // them all, so the next statement surely meets a hung server, even on a busy machine.
    for (const deadline = Date.now() + 10_000; !allThreadsStopped(pid);) {
      if (Date.now() > deadline) throw new Error(`mariadbd (pid ${pid}) did not stop`);
      await sleep(10);
    }
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    // A paused server would not act on SIGTERM until resumed.
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    await exited;
  }

  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether every thread of `pid` is stopped (state T in /proc), as after SIGSTOP. */
function allThreadsStopped(pid: number): boolean {
  const threads = readdirSync(`/proc/${pid}/task`);
  return threads.every(
    (tid) => parseProcStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')).state === 'T',
  );
}
