/**
 * A database outage under light load: the acts service on its own MariaDB (installed into a
 * temp dir, on a free port, so stopping it touches nothing else), two replicas behind the
 * front door. The database stops for 20 s and starts again. Requests must fail fast with a
 * 5xx during the outage, no replica may be replaced (the database, not a replica, is at fault), the system must serve
 * again by itself soon after the database returns, and no acknowledged write may be lost.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../orchestrator/config';
import { silentLogger } from '../../common/log';
import { startOrchestrator, type Orchestrator } from '../../orchestrator/orchestrator';
import { createProcessRuntime, type ProcessRuntime } from '../../orchestrator/process-runtime';
import { freePort } from '../support/requirements';
import { freePortRange, REPO_ROOT } from './helpers';

jest.setTimeout(180_000);

const MARIADBD = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';
const OUTAGE_MS = 20_000;
const available = existsSync(MARIADBD) && existsSync(INSTALL_DB);
const mandatory = process.env.REQUIRE_MYSQL === '1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  ms: number;
  body: string;
}

function call(port: number, method: string, urlPath: string, body?: string): Promise<Answer> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: urlPath,
        agent: false,
        headers: body
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
          : {},
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - t0, body: text }));
      },
    );
    req.on('error', () => resolve({ status: 0, ms: Date.now() - t0, body: '' }));
    req.end(body);
  });
}

class Mariadb {
  private child: ChildProcess | undefined;
  constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async install(): Promise<Mariadb> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'outage-mariadb-'));
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

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

(available || mandatory ? describe : describe.skip)('a database outage under light load', () => {
  let db: Mariadb | undefined;
  let orchestrator: Orchestrator | undefined;
  let runtime: ProcessRuntime | undefined;
  afterAll(async () => {
    await orchestrator?.stop({ teardown: true });
    await runtime?.removeAll();
    await db?.stop();
  });

  test('requests fail fast during 20 s without the database, replicas are not churned, service resumes by itself and no acknowledged write is lost', async () => {
    db = await Mariadb.install();
    await db.start();
    const firstPort = await freePortRange(2);
    const logDir = mkdtempSync(path.join(os.tmpdir(), 'outage-logs-'));
    const config = parseConfig({
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      runtime: { kind: 'process' },
      pools: [
        {
          name: 'acts',
          command: [process.execPath, '--import', 'tsx', 'services/acts/main.ts'],
          firstPort,
          minReplicas: 2,
          maxReplicas: 2,
          autoscale: false,
          env: {
            DATABASE_URL: `mysql://root@127.0.0.1:${db.port}/acts`,
            USERS_URL: 'http://127.0.0.1:9',
            PUBLIC_ORIGIN: 'http://localhost',
            LOG_LEVEL: 'warn',
          },
        },
      ],
    });
    runtime = createProcessRuntime({ cwd: REPO_ROOT, logDir });
    orchestrator = await startOrchestrator(config, { runtime, runtimeName: 'process', logger: silentLogger });
    const front = orchestrator.frontDoorPort;
    const replicas = () => orchestrator!.status().pools[0]!.replicas;
    while (!(replicas().length === 2 && replicas().every((r) => r.inRotation))) await sleep(100);

    // Light load: one write and one read every 100 ms, each write a new category.
    const acknowledged: string[] = [];
    const answers: Array<Answer & { at: number; method: string }> = [];
    let n = 0;
    let loading = true;
    const load = (async () => {
      while (loading) {
        const name = `c${n++}`;
        const write = await call(front, 'POST', '/api/v1/categories', JSON.stringify([name]));
        if (write.status === 201) acknowledged.push(name);
        answers.push({ ...write, at: Date.now(), method: 'POST' });
        answers.push({ ...(await call(front, 'GET', '/api/v1/categories')), at: Date.now(), method: 'GET' });
        await sleep(100);
      }
    })();

    await sleep(3_000);
    const restartsBefore = replicas().reduce((sum, r) => sum + r.restarts, 0);
    const downAt = Date.now();
    await db.stop();
    await sleep(OUTAGE_MS);
    const upAt = Date.now();
    await db.start();
    const restartsDuringOutage = replicas().reduce((sum, r) => sum + r.restarts, 0) - restartsBefore;

    // Serving again: a read through the front door succeeds.
    let recoveredAt: number | undefined;
    while (recoveredAt === undefined) {
      const reads = answers.filter((a) => a.method === 'GET' && a.at > upAt && a.status === 200);
      if (reads.length > 0) recoveredAt = reads[0]!.at;
      else await sleep(100);
      if (Date.now() - upAt > 90_000) break;
    }
    await sleep(1_000);
    loading = false;
    await load;

    const during = answers.filter((a) => a.at > downAt + 500 && a.at < upAt);
    const statuses = new Map<number, number>();
    for (const a of during) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    const slowest = Math.max(...during.map((a) => a.ms));
    const recoveryMs = recoveredAt === undefined ? Infinity : recoveredAt - upAt;
    console.log(
      `database outage ${OUTAGE_MS} ms: ${during.length} requests during it (${[...statuses]
        .map(([s, c]) => `${s}×${c}`)
        .join(' ')}), slowest ${slowest} ms; replacements during it ${restartsDuringOutage}; ` +
        `serving again ${recoveryMs} ms after the database returned; ${acknowledged.length} writes acknowledged`,
    );

    // Fail fast with a 5xx (never a hang past the proxy's timeouts, never a false success).
    expect(during.length).toBeGreaterThan(20);
    expect(during.every((a) => a.status >= 500 || (a.method === 'GET' && a.status === 200))).toBe(true);
    expect(slowest).toBeLessThan(10_000);
    // No replacement storm: `_health` answers 503 (database unreachable), so every replica is
    // taken out of rotation and kept, not replaced; none is replaced after the return either.
    expect(restartsDuringOutage).toBe(0);
    expect(replicas().reduce((sum, r) => sum + r.restarts, 0) - restartsBefore).toBe(0);
    // Serves again by itself.
    expect(recoveryMs).toBeLessThan(30_000);
    // Every acknowledged write is there.
    const listed = await call(front, 'GET', '/api/v1/categories');
    expect(listed.status).toBe(200);
    const categories = Object.keys(JSON.parse(listed.body) as Record<string, number>);
    expect(acknowledged.filter((c) => !categories.includes(c))).toEqual([]);
  });
});
