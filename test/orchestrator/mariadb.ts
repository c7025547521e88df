/**
 * A MariaDB server of a suite's own: installed into a temp dir and listening on a free
 * loopback port, so stopping, pausing or killing it touches nothing else on the machine.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/requirements';

const MARIADBD = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';

/** Whether a private server can be made here; suites skip without one unless REQUIRE_MYSQL=1. */
export const mariadbAvailable = existsSync(MARIADBD) && existsSync(INSTALL_DB);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Mariadb {
  private child: ChildProcess | undefined;
  private constructor(
    readonly dir: string,
    readonly port: number,
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

  async start(): Promise<void> {
    this.child = spawn(
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
    for (;;) {
      const up = await new Promise<boolean>((resolve) => {
        const s = net.connect(this.port, '127.0.0.1', () => (s.end(), resolve(true)));
        s.on('error', () => resolve(false));
      });
      if (up) return;
      if (this.child.exitCode !== null) throw new Error('mariadbd exited at start');
      await sleep(100);
    }
  }

  /** The server hangs: connections stay open and are accepted by the kernel, but nothing answers. */
  pause(): void {
    this.child?.kill('SIGSTOP');
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
