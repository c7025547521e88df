import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../../orchestrator/config';
import { createLogger } from '../../../common/log';
import { startOrchestrator } from '../../../orchestrator/orchestrator';
import { createProcessRuntime } from '../../../orchestrator/process-runtime';
import { eventually, freePortRange } from '../../orchestrator/helpers';
import { describeWith } from '../../support/requirements';
import { REPO_ROOT } from '../processes';
import { PUBLIC_ORIGIN, startUsersStandIn, type UsersStandIn } from '../support';
import { actsAsNobody, readOnlySqlite, selectOnlyMysql, startListening, type Unwritable } from './unwritable';

jest.setTimeout(120_000);

const ACTS = [process.execPath, '--import', 'tsx', 'services/acts/main.ts'];
/** The orchestrator's default probe timeout: one probe must be answered within it. */
const PROBE_TIMEOUT_MS = 800;

async function probe(url: string): Promise<number> {
  const res = await fetch(`${url}/api/v1/_health`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  await res.arrayBuffer();
  return res.status;
}

/**
 * A replica on a database it can read but not write: 500 at the first probe. A MySQL grant
 * reaches its open connections, so it recovers in place; a SQLite file opened read-only
 * stays so for that process, and only its replacement sees the new permission.
 */
function unwritableReplica(
  argv: string[],
  makeDatabase: () => Promise<Unwritable>,
  afterWritesAllowed: 200 | 500,
): void {
  let users: UsersStandIn;
  let database: Unwritable;
  beforeAll(async () => {
    users = await startUsersStandIn(['xyz']);
    database = await makeDatabase();
  });
  afterAll(async () => {
    await users?.close();
    await database?.cleanup();
  });

  test(`the first health probe answers 500 while reads still work, and ${afterWritesAllowed} once writes are allowed`, async () => {
    const replica = await startListening(argv, {
      DATABASE_URL: database.url,
      USERS_URL: users.url,
      PUBLIC_ORIGIN,
      LOG_LEVEL: 'warn',
    });
    try {
      expect(await probe(replica.url)).toBe(500);
      const categories = await fetch(`${replica.url}/api/v1/categories`);
      expect([categories.status, await categories.text()]).toEqual([200, '{"abc":0}']);
      await database.allowWrites();
      expect(await probe(replica.url)).toBe(afterWritesAllowed);
    } finally {
      await replica.stop();
    }
  });
}

/** The orchestrator replaces such a replica, backing off while the cause persists, and keeps the one that works. */
function replacedWithBackoff(argv: string[], makeDatabase: () => Promise<Unwritable>): void {
  test('the orchestrator takes it out of rotation and replaces it with growing pauses, until writes work', async () => {
    const users = await startUsersStandIn(['xyz']);
    const database = await makeDatabase();
    const firstPort = await freePortRange(1);
    const config = parseConfig({
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      runtime: { kind: 'process' },
      health: {
        intervalMs: 1_000,
        timeoutMs: PROBE_TIMEOUT_MS,
        failureThreshold: 3,
        startupGraceMs: 30_000,
        backoffInitialMs: 400,
        backoffMaxMs: 1_600,
      },
      pools: [
        {
          name: 'acts',
          command: argv,
          firstPort,
          env: { DATABASE_URL: database.url, USERS_URL: users.url, PUBLIC_ORIGIN, LOG_LEVEL: 'warn' },
          minReplicas: 1,
          maxReplicas: 1,
          autoscale: false,
        },
      ],
    });
    const runtime = createProcessRuntime({
      cwd: REPO_ROOT,
      logDir: mkdtempSync(path.join(os.tmpdir(), 'acts-unwritable-logs-')),
    });
    const orchestrator = await startOrchestrator(config, {
      runtime,
      runtimeName: 'process',
      logger: createLogger('test', 'error', () => {}),
      auditIntervalMs: 500,
      closeGraceMs: 5_000,
    });
    const replica = () => orchestrator.status().pools[0]!.replicas[0]!;
    try {
      const pauses: number[] = [];
      let everInRotation = false;
      await eventually(() => {
        const r = replica();
        everInRotation ||= r.inRotation;
        if (r.state === 'backoff' && pauses.at(-1) !== r.backoffMs) pauses.push(r.backoffMs);
        return r.restarts >= 3;
      });
      expect(everInRotation).toBe(false);
      expect(replica().reason).toMatch(/health probe answered 500|failures in a row/);
      // Each replacement waits longer than the one before, up to the cap: no tight loop.
      expect(pauses.length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < pauses.length; i++) expect(pauses[i]).toBeGreaterThanOrEqual(pauses[i - 1]!);
      expect(pauses.at(-1)).toBeGreaterThan(pauses[0]!);

      await database.allowWrites();
      await eventually(() => replica().inRotation && replica().health === 'healthy');
    } finally {
      await orchestrator.stop({ teardown: true });
      await runtime.removeAll();
      await users.close();
      await database.cleanup();
    }
  });
}

const runsAsRoot = process.getuid?.() === 0;
(runsAsRoot ? describe : describe.skip)('acts on a SQLite file its user may only read', () => {
  const asNobody = runsAsRoot ? actsAsNobody() : undefined;
  afterAll(() => asNobody?.remove());
  unwritableReplica(asNobody?.argv ?? [], readOnlySqlite, 500);
  replacedWithBackoff(asNobody?.argv ?? [], readOnlySqlite);
});

describeWith('mysql', 'acts as a MySQL user granted only SELECT', () => {
  unwritableReplica(ACTS, selectOnlyMysql, 200);
  replacedWithBackoff(ACTS, selectOnlyMysql);
});
