/**
 * One acts process (started as the process runtime starts replicas) on SQLite and on MySQL:
 *   - requests/s of GET /api/v1/categories, against a bare node http server answering `{}`
 *     measured in the same run (the ceiling for any node service on this machine);
 *   - uploads/s of 50 KB photos, and the latency of listing 100 such acts;
 *   - peak RSS growth while one 20 MB photo is uploaded to a fresh process, as a ratio to the body size.
 * The MySQL part is skipped, with the reason, when no server answers. BENCH_QUICK=1 shortens it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import { Pool } from 'undici';
import { freePort, MYSQL_URL_BASE, unmetReason } from '../test/support/requirements';

const QUICK = process.env.BENCH_QUICK === '1';
const LOAD_SECONDS = QUICK ? 2 : 5;
const CONNECTIONS = 32;
const UPLOADS = 100;
const LISTINGS = QUICK ? 20 : 50;
const REPO_ROOT = path.resolve(__dirname, '..');

interface Proc {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function main(): Promise<void> {
  const users = await startUsersStandIn();
  const baseline = await startBaseline();
  const baselineRps = await requestsPerSecond(baseline.url, '/');
  await baseline.stop();
  console.log(
    `baseline: bare node http server answering {}: ${fmt(baselineRps)} req/s (${CONNECTIONS} connections, ${LOAD_SECONDS} s)`,
  );

  const dir = mkdtempSync(path.join(os.tmpdir(), 'sla-bench-'));
  try {
    await benchEngine('SQLite', `sqlite:${path.join(dir, 'acts.db')}`, users.url, baselineRps);
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
      await benchEngine('MySQL', `${base}/${name}`, users.url, baselineRps);
    } finally {
      const conn = await createConnection({ uri: base });
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    }
  }
  await users.close();
}

async function benchEngine(
  label: string,
  databaseUrl: string,
  usersUrl: string,
  baselineRps: number,
): Promise<void> {
  console.log(`\n${label} (${databaseUrl.replace(/\/\/[^@]*@/, '//…@')})`);
  const acts = await startActs(databaseUrl, usersUrl);
  try {
    await post(acts.url, '/api/v1/categories', ['bench']);
    await post(acts.url, '/api/v1/categories', ['photos']);

    const rps = await requestsPerSecond(acts.url, '/api/v1/categories');
    console.log(`  GET /api/v1/categories: ${fmt(rps)} req/s = ${(rps / baselineRps).toFixed(2)} × baseline`);

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
    await acts.stop();
  }
  await measureBigUpload(databaseUrl, usersUrl);
}

/**
 * Peak RSS growth for one 20 MB upload, on a fresh process that has served one small upload:
 * garbage and heap left by the load phases would otherwise hide or absorb part of the cost.
 */
async function measureBigUpload(databaseUrl: string, usersUrl: string): Promise<void> {
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
    const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
    console.log(
      `  one ${mb(body.length)} upload: peak RSS ${mb(after.peak)} (was ${mb(before.rss)} before; growth ${mb(after.peak - before.rss)}` +
        ` = ${((after.peak - before.rss) / body.length).toFixed(1)} × body; peak / body = ${(after.peak / body.length).toFixed(1)})` +
        (peakReset ? '' : ' [peak could not be reset: it may include start-up]'),
    );
  } finally {
    await acts.stop();
  }
}

// ---------------------------------------------------------------- load

async function requestsPerSecond(base: string, pathname: string): Promise<number> {
  const pool = new Pool(base, { connections: CONNECTIONS, pipelining: 1 });
  const deadline = performance.now() + LOAD_SECONDS * 1000;
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
  return done / LOAD_SECONDS;
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
    ['--import', 'tsx', 'services/acts/main.ts'],
    { DATABASE_URL: databaseUrl, USERS_URL: usersUrl, PUBLIC_ORIGIN: 'http://bench', LOG_LEVEL: 'warn' },
    '/api/v1/_health',
  );
}

function startBaseline(): Promise<Proc> {
  const script = `require('http').createServer((q,r)=>{q.resume();r.writeHead(200,{'content-type':'application/json'});r.end('{}')}).listen(process.env.PORT)`;
  return spawnAndWait(['-e', script], {}, '/');
}

async function spawnAndWait(args: string[], env: Record<string, string>, probe: string): Promise<Proc> {
  const port = await freePort();
  const child = spawn(process.execPath, args, {
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

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
