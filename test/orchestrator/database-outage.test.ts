/**
 * A database outage under light load, on a MariaDB of the suite's own (test/orchestrator/mariadb.ts,
 * so stopping or pausing it touches nothing else), with two replicas behind the front door.
 *   - Down: the server stops for 20 s and starts again.
 *   - Hung: the server is paused (SIGSTOP) for 15 s and resumed: connections stay open and nothing
 *     answers, as with a wedged server or a firewall dropping packets.
 * Either way requests must fail fast with a 503 (never hang, never a false success), no replica
 * may be replaced (the database, not a replica, is at fault), the system must serve again by
 * itself soon after the database returns, and no acknowledged write may be lost.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../orchestrator/config';
import { silentLogger } from '../../common/log';
import { startOrchestrator, type Orchestrator } from '../../orchestrator/orchestrator';
import { createProcessRuntime, type ProcessRuntime } from '../../orchestrator/process-runtime';
import { requestStatus } from '../support/load';
import { freePortRange, REPO_ROOT, request } from './helpers';
import { Mariadb, mariadbAvailable } from './mariadb';

jest.setTimeout(180_000);

const OUTAGE_MS = 20_000;
const HANG_MS = 15_000;
const mandatory = process.env.REQUIRE_MYSQL === '1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  ms: number;
  at: number;
  method: string;
}

async function call(port: number, method: string, urlPath: string, body?: string): Promise<Answer> {
  const t0 = Date.now();
  const status = await requestStatus(port, method, urlPath, body);
  return { status, ms: Date.now() - t0, at: Date.now(), method };
}

interface Fault {
  name: string;
  /** Separate databases per scenario on the one server. */
  database: string;
  lastsMs: number;
  begin(db: Mariadb): Promise<void> | void;
  end(db: Mariadb): Promise<void> | void;
}

(mariadbAvailable || mandatory ? describe : describe.skip)('a database outage under light load', () => {
  let db: Mariadb | undefined;
  let orchestrator: Orchestrator | undefined;
  let runtime: ProcessRuntime | undefined;
  beforeAll(async () => {
    db = await Mariadb.install();
    await db.start();
  });
  afterEach(async () => {
    await orchestrator?.stop({ teardown: true });
    await runtime?.removeAll();
    orchestrator = undefined;
  });
  afterAll(async () => {
    await db?.remove();
  });

  async function lightLoadThrough(fault: Fault): Promise<void> {
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
            DATABASE_URL: db!.url(fault.database),
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
    const restarts = () => replicas().reduce((sum, r) => sum + r.restarts, 0);
    while (!(replicas().length === 2 && replicas().every((r) => r.inRotation))) await sleep(100);

    // Light load: one write and one read every 100 ms, each write a new category.
    const acknowledged: string[] = [];
    const answers: Answer[] = [];
    let n = 0;
    let loading = true;
    const load = (async () => {
      while (loading) {
        const name = `c${n++}`;
        const write = await call(front, 'POST', '/api/v1/categories', JSON.stringify([name]));
        if (write.status === 201) acknowledged.push(name);
        answers.push(write);
        answers.push(await call(front, 'GET', '/api/v1/categories'));
        await sleep(100);
      }
    })();

    await sleep(3_000);
    const restartsBefore = restarts();
    const downAt = Date.now();
    await fault.begin(db!);
    await sleep(fault.lastsMs);
    const upAt = Date.now();
    await fault.end(db!);
    const restartsDuringOutage = restarts() - restartsBefore;

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

    // Answered during the fault (the requests in flight as it began had their 500 ms).
    const during = answers.filter((a) => a.at > downAt + 500 && a.at < upAt);
    const statuses = new Map<number, number>();
    for (const a of during) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    const slowest = Math.max(...during.map((a) => a.ms));
    const recoveryMs = recoveredAt === undefined ? Infinity : recoveredAt - upAt;
    console.log(
      `database ${fault.name} ${fault.lastsMs} ms: ${during.length} requests during it (${[...statuses]
        .map(([s, c]) => `${s}×${c}`)
        .join(' ')}), slowest ${slowest} ms; replacements during it ${restartsDuringOutage}; ` +
        `serving again ${recoveryMs} ms after the database returned; ${acknowledged.length} writes acknowledged`,
    );

    // Fail fast with a 503: the service (or, with every replica out of rotation, the front
    // door) says the database is unavailable. Never a hang past the proxy's timeouts, never a
    // 500 or 504, never a false success.
    expect(during.length).toBeGreaterThan(20);
    expect(during.filter((a) => !(a.status === 503 || (a.method === 'GET' && a.status === 200)))).toEqual([]);
    expect(slowest).toBeLessThan(10_000);
    // No replacement storm: `_health` answers 503 (database unreachable), so every replica is
    // taken out of rotation and kept, not replaced; none is replaced after the return either.
    expect(restartsDuringOutage).toBe(0);
    expect(restarts() - restartsBefore).toBe(0);
    // Serves again by itself.
    expect(recoveryMs).toBeLessThan(30_000);
    // Every acknowledged write is there.
    const listed = await request(front, 'GET', '/api/v1/categories');
    expect(listed.status).toBe(200);
    const categories = Object.keys(listed.json<Record<string, number>>());
    expect(acknowledged.filter((c) => !categories.includes(c))).toEqual([]);
  }

  test(`requests fail fast during ${OUTAGE_MS / 1000} s without the database, replicas are not churned, service resumes by itself and no acknowledged write is lost`, () =>
    lightLoadThrough({
      name: 'down',
      database: 'acts',
      lastsMs: OUTAGE_MS,
      begin: (server) => server.stop(),
      end: (server) => server.start(),
    }));

  test(`the same while the database hangs for ${HANG_MS / 1000} s (paused: connections open, nothing answers)`, () =>
    lightLoadThrough({
      name: 'hung',
      database: 'acts_hung',
      lastsMs: HANG_MS,
      begin: (server) => server.pause(),
      end: (server) => server.resume(),
    }));
});
