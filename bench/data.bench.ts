/**
 * Cost against the amount of data: one acts process, 5 categories, on SQLite and on MySQL.
 * For each route the request rate is measured on an empty database, on a near-empty one
 * (20 acts per category: the least that lets every listing serve its page), and after
 * 200,000 acts (40,000 per category) were inserted directly through the store's schema (its
 * triggers keep the counts, exactly as for uploads). Goal: ratio >= 0.8 at 200,000.
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
import { silentLogger } from '../services/shared/log';
import { migrateToLatest } from '../services/shared/migrate';
import { freePort, MYSQL_URL_BASE, unmetReason } from '../test/support/requirements';

const QUICK = process.env.BENCH_QUICK === '1';
const LOAD_SECONDS = QUICK ? 1.5 : 3;
const CONNECTIONS = 8;
const CATEGORIES = ['a', 'b', 'c', 'd', 'e'];
const PER_CATEGORY = 40_000;
const NEAR_EMPTY_PER_CATEGORY = 20;
const BATCH = 500;
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
    `one acts process, ${CONNECTIONS} connections, ${LOAD_SECONDS} s per figure; the machine may be shared, so read the ratios`,
  );
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sla-data-bench-'));
  try {
    await benchEngine('SQLite', `sqlite:${path.join(dir, 'acts.db')}`);
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
    await benchEngine('MySQL', `${base}/${name}`);
  } finally {
    const conn = await createConnection({ uri: base });
    await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await conn.end();
  }
}

async function benchEngine(label: string, databaseUrl: string): Promise<void> {
  console.log(`\n${label}`);
  const database = await openDatabase<ActsDatabase>(databaseUrl, { logger: silentLogger });
  await migrateToLatest(database.db, database.dialect, 'acts', actsMigrations);
  try {
    for (const name of CATEGORIES) await database.db.insertInto('categories').values({ name }).execute();
    const empty = await measureAll(databaseUrl, (r) => !r.needsActs);
    await seed(database, 0, NEAR_EMPTY_PER_CATEGORY);
    const nearEmpty = await measureAll(databaseUrl, (r) => r.needsActs, true);
    const t0 = performance.now();
    await seed(database, NEAR_EMPTY_PER_CATEGORY, PER_CATEGORY, (done) =>
      process.stdout.write(
        `\r  seeding: ${done.toLocaleString('en')} of ${(PER_CATEGORY * 5).toLocaleString('en')} acts`,
      ),
    );
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `\r  seeded ${(PER_CATEGORY * 5).toLocaleString('en')} acts in ${seconds.toFixed(1)} s (batched inserts through the store's schema)`,
    );
    const full = await measureAll(databaseUrl, () => true);
    console.log(
      `  ${'route'.padEnd(64)} ${'empty'.padStart(8)} ${'20/cat'.padStart(8)} ${'200,000'.padStart(8)}  ratio`,
    );
    for (const route of ROUTES) {
      const before = route.needsActs ? nearEmpty.get(route) : empty.get(route);
      const after = full.get(route)!;
      const ratio = after / before!;
      console.log(
        `  ${route.label.padEnd(64)} ${fmt(empty.get(route))} ${fmt(nearEmpty.get(route))} ${fmt(after)}  ${ratio.toFixed(2)}× ${ratio >= 0.8 ? 'meets' : 'MISSES'} >= 0.8`,
      );
    }
  } finally {
    await database.destroy();
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

async function measureAll(
  databaseUrl: string,
  which: (r: Route) => boolean,
  nearEmpty = false,
): Promise<Map<Route, number>> {
  const acts = await startActs(databaseUrl);
  const rates = new Map<Route, number>();
  try {
    for (const route of ROUTES.filter(which)) {
      const pathname = nearEmpty ? (route.nearEmptyPath ?? route.path) : route.path;
      await requestsPerSecond(acts.url, pathname, 0.5); // warm-up
      rates.set(route, await requestsPerSecond(acts.url, pathname, LOAD_SECONDS));
    }
  } finally {
    await acts.stop();
  }
  return rates;
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
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/acts/main.ts'], {
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
