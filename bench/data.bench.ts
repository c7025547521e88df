/**
 * Cost against the amount of data: one acts process, 5 categories, on SQLite and on MySQL.
 * Each route's request rate on an empty database or a near-empty one (20 acts per category:
 * the least that lets every listing serve its page) is compared with its rate on one of
 * 200,000 acts (40,000 per category), inserted directly through the store's schema (its
 * triggers keep the counts and versions, exactly as for uploads). Goal: ratio >= 0.8 at 200,000.
 * Listings are compared with the near-empty database, since on an empty one they answer 204
 * or 400 without reading a page. BENCH_QUICK=1 shortens the load phases.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import { Pool } from 'undici';
import { actsMigrations } from '../services/acts/migrations';
import type { ActsDatabase } from '../services/acts/schema';
import { parseActTimestamp } from '../services/acts/timestamp';
import { openDatabase, type Database } from '../services/shared/database';
import { silentLogger } from '../common/log';
import { migrateToLatest } from '../services/shared/migrate';
import { bundledServiceCommand } from '../scripts/services-bundle';
import { reportGoal } from './goals';
import { freePort, MYSQL_URL_BASE, unmetReason } from '../test/support/requirements';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const QUICK = process.env.BENCH_QUICK === '1';
const LOAD_SECONDS = QUICK ? 1 : 2;
const WARM_UP_SECONDS = QUICK ? 0.5 : 1;
const ROUNDS = 5;
const CONNECTIONS = 8;
const CATEGORIES = ['a', 'b', 'c', 'd', 'e'];
const PER_CATEGORY = 40_000;
const NEAR_EMPTY_PER_CATEGORY = 20;
const BATCH = 500;
/** Each route's rate at 200,000 acts against its rate on the small database. */
const FLATNESS_GOAL = 0.8;
const REPO_ROOT = path.resolve(__dirname, '..');

interface Route {
  readonly label: string;
  readonly path: string;
  /** Compared with the near-empty database rather than the empty one. */
  readonly needsActs: boolean;
  /** The path to measure on the near-empty database, where deep positions do not exist. */
  readonly nearEmptyPath?: string;
}

const ROUTES: Route[] = [
  { label: 'GET /api/v1/categories', path: '/api/v1/categories', needsActs: false },
  { label: 'GET /api/v1/acts/count', path: '/api/v1/acts/count', needsActs: false },
  {
    label: 'GET /api/v1/categories/a/acts?start=1&end=10',
    path: '/api/v1/categories/a/acts?start=1&end=10',
    needsActs: true,
  },
  {
    label: 'GET /api/v1/categories/a/acts?start=39990&end=40000',
    path: '/api/v1/categories/a/acts?start=39990&end=40000',
    needsActs: true,
    nearEmptyPath: '/api/v1/categories/a/acts?start=1&end=10',
  },
  {
    label: 'GET /api/v1/categories/a/acts?start=20000&end=20010 (middle)',
    path: '/api/v1/categories/a/acts?start=20000&end=20010',
    needsActs: true,
    nearEmptyPath: '/api/v1/categories/a/acts?start=1&end=10',
  },
  {
    label: 'GET /api/v1/acts/recent?start=1&end=10',
    path: '/api/v1/acts/recent?start=1&end=10',
    needsActs: true,
  },
  {
    label: 'GET /api/v1/list_act_user/u1?start=1&end=10',
    path: '/api/v1/list_act_user/u1?start=1&end=10',
    needsActs: true,
  },
];

async function main(): Promise<void> {
  console.log(
    `one acts process per database (the bundle, as process mode runs it), ${CONNECTIONS} connections; after ${WARM_UP_SECONDS} s of warm-up,\n` +
      `${ROUNDS} rounds of ${LOAD_SECONDS} s on each, alternating between the small and the large database (taking turns at going first)\n` +
      'so that a shared machine skews both alike;\n' +
      "each rate is the median over the rounds, each ratio the median of the rounds' own ratios",
  );
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sla-data-bench-'));
  try {
    await benchEngine('SQLite', (db) => `sqlite:${path.join(dir, `${db}.db`)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const reason = unmetReason('mysql');
  if (reason !== null) {
    console.log(`\nMySQL: skipped (${reason})`);
    return;
  }
  const name = `sla_data_bench_${process.pid}`;
  const base = MYSQL_URL_BASE.replace(/\/+$/, '');
  try {
    await benchEngine('MySQL', (db) => `${base}/${name}_${db}`);
  } finally {
    const conn = await createConnection({ uri: base });
    for (const db of DATABASES) await conn.query(`DROP DATABASE IF EXISTS \`${name}_${db}\``);
    await conn.end();
  }
}

const DATABASES = ['empty', 'small', 'large'] as const;
type Size = (typeof DATABASES)[number];

async function benchEngine(label: string, urlFor: (db: Size) => string): Promise<void> {
  console.log(`\n${label}`);
  const databases = new Map<Size, Database<ActsDatabase>>();
  const replicas = new Map<Size, { url: string; stop(): Promise<void> }>();
  const results: { route: Route; ratio: number; range: string }[] = [];
  try {
    for (const size of DATABASES) {
      const database = await openDatabase<ActsDatabase>(urlFor(size), { logger: silentLogger });
      databases.set(size, database);
      await migrateToLatest(database.db, database.dialect, 'acts', actsMigrations);
      for (const name of CATEGORIES) await database.db.insertInto('categories').values({ name }).execute();
    }
    await seed(databases.get('small')!, 0, NEAR_EMPTY_PER_CATEGORY);
    const t0 = performance.now();
    await seed(databases.get('large')!, 0, PER_CATEGORY, (done) =>
      process.stdout.write(
        `\r  seeding: ${done.toLocaleString('en')} of ${(PER_CATEGORY * 5).toLocaleString('en')} acts`,
      ),
    );
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `\r  seeded ${(PER_CATEGORY * 5).toLocaleString('en')} acts in ${seconds.toFixed(1)} s (batched inserts through the store's schema)`,
    );
    for (const size of DATABASES) replicas.set(size, await startActs(urlFor(size)));
    console.log(
      `  ${'route'.padEnd(64)} ${'0 acts'.padStart(8)} ${'20/cat'.padStart(8)} ${'200,000'.padStart(8)}  ratio (range over rounds)`,
    );
    for (const route of ROUTES) {
      const small: Size = route.needsActs ? 'small' : 'empty';
      const smallPath = route.needsActs ? (route.nearEmptyPath ?? route.path) : route.path;
      const befores: number[] = [];
      const afters: number[] = [];
      const ratios: number[] = [];
      const onSmall = (seconds = LOAD_SECONDS) =>
        requestsPerSecond(replicas.get(small)!.url, smallPath, seconds);
      const onLarge = (seconds = LOAD_SECONDS) =>
        requestsPerSecond(replicas.get('large')!.url, route.path, seconds);
      // Both replicas compile the route's code before any round counts, and the two take turns
      // at going first: a round of a route's first seconds, or always going second, skewed one
      // route or another by 0.2-0.4 in otherwise quiet runs.
      await onSmall(WARM_UP_SECONDS);
      await onLarge(WARM_UP_SECONDS);
      for (let round = 0; round < ROUNDS; round++) {
        if (round % 2 === 0) {
          befores.push(await onSmall());
          afters.push(await onLarge());
        } else {
          afters.push(await onLarge());
          befores.push(await onSmall());
        }
        ratios.push(afters.at(-1)! / befores.at(-1)!);
      }
      const before = median(befores);
      const after = median(afters);
      const ratio = median(ratios);
      const range = `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}`;
      console.log(
        `  ${route.label.padEnd(64)} ${fmt(route.needsActs ? undefined : before)} ${fmt(route.needsActs ? before : undefined)} ${fmt(after)}  ${ratio.toFixed(2)}× ` +
          `(${range}) ${ratio >= FLATNESS_GOAL ? 'meets' : 'MISSES'} >= ${FLATNESS_GOAL}`,
      );
      results.push({ route, ratio, range });
    }
    const load = os
      .loadavg()
      .map((n) => n.toFixed(1))
      .join(' ');
    console.log(`  load average ${load}`);
    for (const { route, ratio, range } of results)
      reportGoal(
        {
          what: `200,000 acts / ${route.needsActs ? 'near-empty' : 'empty'}, ${route.label}, ${label}`,
          kind: 'at least',
          limit: FLATNESS_GOAL,
          unit: '×',
        },
        ratio,
        `the rounds' own ratios ranged ${range} at load average ${load}`,
      );
  } finally {
    for (const replica of replicas.values()) await replica.stop();
    for (const database of databases.values()) await database.destroy();
  }
}

/** Each category gets acts number `from` to `to` - 1; users u0..u9 upload them in turn. */
async function seed(
  database: Database<ActsDatabase>,
  from: number,
  to: number,
  progress?: (done: number) => void,
): Promise<void> {
  const image = Buffer.from('selfieless');
  let done = 0;
  for (const [c, categoryName] of CATEGORIES.entries()) {
    for (let start = from; start < to; start += BATCH) {
      const rows = [];
      for (let i = start; i < Math.min(to, start + BATCH); i++) {
        const actId = c * 1_000_000 + i;
        const timestamp = timestampFor(i * 37 + c);
        rows.push({
          act_id: actId,
          category_name: categoryName,
          username: `u${i % 10}`,
          taken_at: timestamp,
          sort_time: parseActTimestamp(timestamp)!,
          caption: `act ${actId}`,
          image,
        });
      }
      await database.db.insertInto('acts').values(rows).execute();
      const before = done;
      done += rows.length;
      if (Math.floor(done / 10_000) > Math.floor(before / 10_000)) progress?.(done);
    }
  }
}

/** `DD-MM-YYYY:SS-MM-HH`, `seconds` after 2020-01-01 00:00:00. */
function timestampFor(seconds: number): string {
  const d = new Date(Date.UTC(2020, 0, 1) + seconds * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}-${two(d.getUTCMonth() + 1)}-${d.getUTCFullYear()}:${two(d.getUTCSeconds())}-${two(d.getUTCMinutes())}-${two(d.getUTCHours())}`;
}

async function requestsPerSecond(base: string, pathname: string, seconds: number): Promise<number> {
  const pool = new Pool(base, { connections: CONNECTIONS, pipelining: 1 });
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < deadline) {
        const res = await pool.request({ method: 'GET', path: pathname });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`${pathname} answered ${res.statusCode}`);
        done++;
      }
    }),
  );
  await pool.close();
  return done / seconds;
}

async function startActs(databaseUrl: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const [program, ...args] = bundledServiceCommand('acts') as [string, ...string[]];
  const child = spawn(program, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: String(port), DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 60_000; ;) {
    if (child.exitCode !== null) throw new Error('acts exited before serving');
    if (Date.now() > deadline) throw new Error('acts did not become healthy within 60 s');
    const ok = await fetch(`${url}/api/v1/_health`)
      .then(async (r) => (await r.arrayBuffer(), r.status === 200))
      .catch(() => false);
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function fmt(rate: number | undefined): string {
  return (rate === undefined ? '-' : Math.round(rate).toLocaleString('en')).padStart(8);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
