/**
 * One acts process, started as process mode starts replicas (the bundled service, plain node),
 * on SQLite and on MySQL, each figure next to its floor from the same run:
 *   - GET /api/v1/categories and GET /api/v1/categories/{name}/acts (100 small acts) with wrk,
 *     against a bare node:http server doing the same reads with the same driver
 *     (better-sqlite3 / mysql2): requests/s, and CPU per request from /proc, which a machine
 *     shared with other work disturbs less;
 *   - the replica's RSS idle and after that load, against the floor's;
 *   - uploads/s of 50 KB photos, and the latency of listing 100 such acts;
 *   - peak RSS growth while one 20 MB photo is uploaded to a fresh process, as a ratio to the body size.
 * The MySQL part is skipped, with the reason, when no server answers. BENCH_QUICK=1 shortens it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import { bundledServiceCommand } from '../scripts/services-bundle';
import { freePort, MYSQL_URL_BASE, unmetReason } from '../test/support/requirements';
import { reportGoal } from './goals';

const QUICK = process.env.BENCH_QUICK === '1';
const WRK_SECONDS = QUICK ? 4 : 8;
const WRK_CONNECTIONS = 16;
const UPLOADS = 100;
const LISTINGS = QUICK ? 20 : 50;
const REPO_ROOT = path.resolve(__dirname, '..');
const REPLICA_GOAL = 0.6;
const IDLE_RSS_GOAL_MB = 60;
const LOADED_RSS_GOAL_MB = 90;
const UPLOAD_GROWTH_GOAL = 2;

interface Proc {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * The floor: node:http and the driver alone, answering the same bytes from the same SQL the
 * store runs for these two routes (plain identifiers, so one text serves both databases).
 * With EXPRESS=1 the same handler runs as one express route (x-powered-by and ETag off, as in
 * the services): the peer that shows what express itself costs per request.
 */
const FLOOR_SCRIPT = `
const http = require('http');
const url = process.env.DATABASE_URL;
const CATEGORIES = 'select name, act_count from categories order by seq';
const COUNT = 'select act_count from categories where name = ?';
const PAGE = 'select act_id, username, taken_at, caption, upvotes, category_name, image from acts where category_name = ? order by sort_time desc, seq desc limit ? offset ?';
let read;
if (url.startsWith('sqlite:')) {
  const db = new (require('better-sqlite3'))(url.slice('sqlite:'.length));
  const statements = {};
  read = async (sql, params) => (statements[sql] ??= db.prepare(sql)).all(params);
} else {
  const pool = require('mysql2').createPool({ uri: url, connectionLimit: 10, supportBigNumbers: true }).promise();
  read = async (sql, params) => (await pool.query(sql, params))[0];
}
const text = (v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v);
const send = (res, body) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};
async function answer(path, res) {
  if (path === '/api/v1/categories') {
    const rows = await read(CATEGORIES, []);
    return send(res, '{' + rows.map((r) => JSON.stringify(text(r.name)) + ':' + Number(r.act_count)).join(',') + '}');
  }
  const name = decodeURIComponent(path.split('/')[4]);
  const [count] = await read(COUNT, [name]);
  const rows = await read(PAGE, [name, Math.min(Number(count.act_count), 100), 0]);
  send(res, JSON.stringify(rows.map((r) => ({
    actId: Number(r.act_id), username: text(r.username), timestamp: r.taken_at, caption: r.caption,
    upvotes: Number(r.upvotes), categoryName: text(r.category_name), imgB64: Buffer.from(r.image).toString('base64'),
  }))));
}
if (process.env.EXPRESS === '1') {
  const app = require('express')();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get(['/api/v1/categories', '/api/v1/categories/:name/acts'], (req, res) => answer(req.path, res));
  // Served as the services serve their apps (services/shared/express-server.ts).
  const onPrototype = (base, prototype) => {
    function Constructed(...args) { base.apply(this, args); }
    Constructed.prototype = prototype;
    return Constructed;
  };
  http.createServer({
    IncomingMessage: onPrototype(http.IncomingMessage, app.request),
    ServerResponse: onPrototype(http.ServerResponse, app.response),
  }, app).listen(process.env.PORT);
} else {
  http.createServer((req, res) => answer(req.url, res)).listen(process.env.PORT);
}
`;

const loadAverage = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(1))
    .join(' ');

async function main(): Promise<void> {
  if (!hasCommand('wrk')) {
    console.log('skipped: wrk is not installed');
    return;
  }
  console.log(
    `${os.cpus().length} cores shared with everything else running: compare ratios, not absolute figures`,
  );
  const users = await startUsersStandIn();
  const bare = await spawnAndWait([process.execPath, '-e', BARE_SCRIPT], {}, '/');
  const bareRss = memory(bare.child.pid!).rss;
  await bare.stop();
  console.log(`bare node:http process, idle: RSS ${mb(bareRss)}`);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'sla-bench-'));
  try {
    await benchEngine('SQLite', `sqlite:${path.join(dir, 'acts.db')}`, users.url);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const reason = unmetReason('mysql');
  if (reason !== null) {
    console.log(`\nMySQL: skipped (${reason})`);
  } else {
    const name = `sla_bench_${process.pid}`;
    const base = MYSQL_URL_BASE.replace(/\/+$/, '');
    try {
      await benchEngine('MySQL', `${base}/${name}`, users.url);
    } finally {
      const conn = await createConnection({ uri: base });
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    }
  }
  await users.close();
}

const BARE_SCRIPT = `require('http').createServer((q,r)=>{q.resume();r.writeHead(200,{'content-type':'application/json'});r.end('{}')}).listen(process.env.PORT)`;

async function benchEngine(label: string, databaseUrl: string, usersUrl: string): Promise<void> {
  console.log(`\n${label} (${databaseUrl.replace(/\/\/[^@]*@/, '//…@')})`);
  const acts = await startActs(databaseUrl, usersUrl);
  let floor: Proc | undefined;
  let minimalExpress: Proc | undefined;
  try {
    for (const name of ['bench', 'photos', 'small']) await post(acts.url, '/api/v1/categories', [name]);
    // Idle: started and migrated, before the first upload loads the HTTP client for user look-ups.
    const idleActs = memory(acts.child.pid!).rss;
    const smallImage = randomImage(96);
    for (let actId = 0; actId < 100; actId++) {
      const status = await post(acts.url, '/api/v1/acts', actBody(10_000 + actId, 'small', smallImage));
      if (status !== 201) throw new Error(`small upload answered ${status}`);
    }
    floor = await spawnAndWait(
      [process.execPath, '-e', FLOOR_SCRIPT],
      { DATABASE_URL: databaseUrl },
      '/api/v1/categories',
    );
    minimalExpress = await spawnAndWait(
      [process.execPath, '-e', FLOOR_SCRIPT],
      { DATABASE_URL: databaseUrl, EXPRESS: '1' },
      '/api/v1/categories',
    );
    const idle = { acts: idleActs, floor: memory(floor.child.pid!).rss };

    for (const [route, pathname] of [
      ['GET /api/v1/categories', '/api/v1/categories'],
      ['GET /api/v1/categories/{name}/acts, 100 small acts', '/api/v1/categories/small/acts'],
    ] as const) {
      const loadBefore = loadAverage();
      const [ours, peer, base] = await versus([acts, minimalExpress, floor], pathname);
      console.log(`  ${route} (load average ${loadBefore} before, ${loadAverage()} after)`);
      console.log(`    replica          ${row(ours!)}`);
      console.log(`    minimal express  ${row(peer!)}`);
      console.log(`    floor            ${row(base!)}`);
      console.log(
        `    replica / floor: ${ratio(ours!.rps, base!.rps)} req/s, ${ratio(base!.cpuMicros, ours!.cpuMicros)} by CPU per request` +
          ` (each turn: ${turnRatios(base!, ours!)})`,
      );
      console.log(
        `    minimal express / floor: ${ratio(base!.cpuMicros, peer!.cpuMicros)} by CPU per request (each turn: ${turnRatios(base!, peer!)});` +
          ` replica / minimal express ${ratio(peer!.cpuMicros, ours!.cpuMicros)}`,
      );
      if (label === 'SQLite' && pathname === '/api/v1/categories') {
        const expressCeiling = base!.cpuMicros / peer!.cpuMicros;
        reportGoal(
          {
            what: `replica / floor by CPU per request, ${route}, SQLite`,
            kind: 'at least',
            limit: REPLICA_GOAL,
            unit: '',
          },
          base!.cpuMicros / ours!.cpuMicros,
          expressCeiling < REPLICA_GOAL
            ? `express alone, the same handler as one route, reaches ${expressCeiling.toFixed(2)} in this run: the goal is out of reach while express serves (docs/performance.md)`
            : `express alone reaches ${expressCeiling.toFixed(2)} in this run, so the rest is the replica's own`,
        );
      }
    }
    const loaded = { acts: memory(acts.child.pid!).rss, floor: memory(floor.child.pid!).rss };
    console.log(
      `  RSS idle: replica ${mb(idle.acts)}, floor ${mb(idle.floor)};` +
        ` after that load: replica ${mb(loaded.acts)}, floor ${mb(loaded.floor)}`,
    );
    // The goals are the process-mode replica's on SQLite; the MySQL driver adds its own share.
    if (label === 'SQLite') {
      reportGoal(
        { what: `replica RSS idle, ${label}`, kind: 'at most', limit: IDLE_RSS_GOAL_MB, unit: ' MB' },
        idle.acts / MiB,
        `the floor (node:http and the driver alone) idles at ${mb(idle.floor)} in this run`,
      );
      reportGoal(
        { what: `replica RSS after load, ${label}`, kind: 'at most', limit: LOADED_RSS_GOAL_MB, unit: ' MB' },
        loaded.acts / MiB,
        `the floor holds ${mb(loaded.floor)} after the same load in this run`,
      );
    }
    await floor.stop();
    floor = undefined;
    await minimalExpress.stop();
    minimalExpress = undefined;

    const imgB64 = randomImage(50 * 1024);
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < UPLOADS) {
          const actId = next++;
          const status = await post(acts.url, '/api/v1/acts', actBody(actId, 'bench', imgB64));
          if (status !== 201) throw new Error(`upload ${actId} answered ${status}`);
        }
      }),
    );
    const uploadSeconds = (performance.now() - started) / 1000;
    console.log(`  uploads of 50 KB photos (8 in parallel): ${fmt(UPLOADS / uploadSeconds)} uploads/s`);

    const latencies: number[] = [];
    let bytes = 0;
    for (let i = 0; i < LISTINGS; i++) {
      const t0 = performance.now();
      const res = await fetch(`${acts.url}/api/v1/categories/bench/acts`);
      const body = await res.arrayBuffer();
      latencies.push(performance.now() - t0);
      if (res.status !== 200) throw new Error(`listing answered ${res.status}`);
      bytes = body.byteLength;
    }
    latencies.sort((a, b) => a - b);
    console.log(
      `  listing 100 acts with 50 KB photos (${(bytes / 1e6).toFixed(1)} MB body): median ${latencies[Math.floor(latencies.length / 2)]!.toFixed(1)} ms, p95 ${latencies[Math.floor(latencies.length * 0.95)]!.toFixed(1)} ms`,
    );
  } finally {
    await floor?.stop();
    await minimalExpress?.stop();
    await acts.stop();
  }
  await measureBigUpload(label, databaseUrl, usersUrl);
}

/**
 * Peak RSS growth for one 20 MB upload, on a fresh process that has served one small upload:
 * garbage and heap left by the load phases would otherwise hide or absorb part of the cost.
 */
async function measureBigUpload(label: string, databaseUrl: string, usersUrl: string): Promise<void> {
  const acts = await startActs(databaseUrl, usersUrl);
  try {
    const warmUp = await post(acts.url, '/api/v1/acts', actBody(999_999, 'photos', randomImage(1024)));
    if (warmUp !== 201) throw new Error(`warm-up upload answered ${warmUp}`);
    const body = JSON.stringify(actBody(1_000_000, 'photos', randomImage(15 * 1024 * 1024)));
    const pid = acts.child.pid!;
    const peakReset = resetPeak(pid);
    const before = memory(pid);
    const status = await post(acts.url, '/api/v1/acts', body);
    if (status !== 201) throw new Error(`20 MB upload answered ${status}`);
    const after = memory(pid);
    console.log(
      `  one ${mb(body.length)} upload: peak RSS ${mb(after.peak)} (was ${mb(before.rss)} before; growth ${mb(after.peak - before.rss)}` +
        ` = ${((after.peak - before.rss) / body.length).toFixed(1)} × body; peak / body = ${(after.peak / body.length).toFixed(1)})` +
        (peakReset ? '' : ' [peak could not be reset: it may include start-up]'),
    );
    reportGoal(
      {
        what: `20 MB upload, peak RSS growth / body, ${label}`,
        kind: 'at most',
        limit: UPLOAD_GROWTH_GOAL,
        unit: '×',
      },
      (after.peak - before.rss) / body.length,
      'the body is held until the photo is stored, which goes chunk by chunk; the rest is garbage not yet collected (docs/performance.md, Uploads)',
    );
  } finally {
    await acts.stop();
  }
}

// ---------------------------------------------------------------- load

interface Load {
  rps: number;
  /** CPU time (user + system) of the serving process per request, in microseconds. */
  cpuMicros: number;
  /** The same, for each turn alone. */
  turns: number[];
}

const TURNS = 3;

/**
 * The parties in turns, TURNS times each after a warm-up, so a burst of other work on the
 * machine lands on all of them; the figures are the totals of all turns.
 */
async function versus(parties: Proc[], pathname: string): Promise<Load[]> {
  for (const proc of parties) await wrk(proc.url + pathname, 2);
  const totals = parties.map(() => ({ requests: 0, seconds: 0, cpu: 0, turns: [] as number[] }));
  for (let turn = 0; turn < TURNS; turn++) {
    for (const [i, proc] of parties.entries()) {
      const cpu0 = cpuMicros(proc.child.pid!);
      const requests = await wrk(proc.url + pathname, WRK_SECONDS / 2);
      const cpu = cpuMicros(proc.child.pid!) - cpu0;
      totals[i]!.cpu += cpu;
      totals[i]!.requests += requests;
      totals[i]!.seconds += WRK_SECONDS / 2;
      totals[i]!.turns.push(cpu / requests);
    }
  }
  return totals.map((t) => ({ rps: t.requests / t.seconds, cpuMicros: t.cpu / t.requests, turns: t.turns }));
}

/** floor / party by CPU per request, turn by turn. */
function turnRatios(floor: Load, party: Load): string {
  return party.turns.map((cpu, i) => ratio(floor.turns[i]!, cpu)).join(', ');
}

/** Runs wrk against `url`; resolves with the number of 2xx responses. */
function wrk(url: string, seconds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t2', `-c${WRK_CONNECTIONS}`, `-d${seconds}s`, url]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
      const bad = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      if (bad > 0 || !(requests > 0)) reject(new Error(`wrk ${url}: ${out}`));
      else resolve(requests);
    });
  });
}

/** CPU time (user + system) of one process from /proc, in microseconds. */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6;
}

function row(load: Load): string {
  return `${fmt(load.rps).padStart(7)} req/s   ${load.cpuMicros.toFixed(0).padStart(5)} µs CPU/request`;
}

function ratio(a: number, b: number): string {
  return (a / b).toFixed(2);
}

function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

async function post(base: string, pathname: string, body: unknown): Promise<number> {
  const res = await fetch(base + pathname, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

// ---------------------------------------------------------------- parties

function startActs(databaseUrl: string, usersUrl: string): Promise<Proc> {
  return spawnAndWait(
    bundledServiceCommand('acts'),
    { DATABASE_URL: databaseUrl, USERS_URL: usersUrl, PUBLIC_ORIGIN: 'http://bench', LOG_LEVEL: 'warn' },
    '/api/v1/_health',
  );
}

/** Runs `command` (program first) and waits until `probe` answers 200. */
async function spawnAndWait(command: string[], env: Record<string, string>, probe: string): Promise<Proc> {
  const port = await freePort();
  const [program, ...args] = command as [string, ...string[]];
  const child = spawn(program, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
    try {
      const res = await fetch(url + probe);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not up yet
    }
    if (i > 300) throw new Error(`${args.join(' ')} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    child,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function startUsersStandIn(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('["bench"]');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ---------------------------------------------------------------- helpers

function actBody(actId: number, categoryName: string, imgB64: string) {
  return {
    actId,
    username: 'bench',
    timestamp: '10-10-2019:45-23-03',
    caption: `act ${actId}`,
    categoryName,
    imgB64,
  };
}

function randomImage(bytes: number): string {
  const buf = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i += 4)
    buf.writeUInt32LE((Math.random() * 0xffffffff) >>> 0, Math.min(i, bytes - 4));
  return buf.toString('base64');
}

/** Restarts a process's peak resident memory (VmHWM) at its current size; false when refused. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Current and peak resident memory of a process (Linux /proc). */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

const MiB = 1024 * 1024;

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
