/**
 * Databases that can be read but not written, as operators meet them: a SQLite file the
 * replica's user may only read, and a MySQL user granted only SELECT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { freePort } from '../../support/requirements';
import { scratchMysqlDatabase } from '../mysql';
import { REPO_ROOT } from '../processes';
import { openActsDatabase, tempDir, type TempDir } from '../support';
import { bundleService, REPLICA_NODE_FLAGS } from '../../../scripts/services-bundle';

/** An unprivileged account every Linux system has; root ignores file permissions, it does not. */
const NOBODY = 65534;

/** The acts service as `nobody` runs it: the argv, and the directory to remove afterwards. */
export interface ActsAsNobody extends TempDir {
  readonly argv: string[];
}

/**
 * The acts bundle and the SQLite addon it loads, copied into a directory `nobody` can read, and
 * the argv that runs them as that account. `nobody` may not be able to read the checkout
 * itself: a clone below a mode-0700 directory (what `mktemp -d` makes) is closed to it.
 */
export function actsAsNobody(): ActsAsNobody {
  const dir = tempDir('sla-acts-as-nobody-');
  chmodSync(dir.path, 0o755);
  const bundle = bundleService(REPO_ROOT, 'acts', join(dir.path, 'acts.js'));
  const modules = join(REPO_ROOT, 'node_modules');
  const copied = join(dir.path, 'node_modules');
  // better-sqlite3's JavaScript and its built addon only (its sources and objects are large),
  // and the two small packages that find the addon.
  cpSync(join(modules, 'better-sqlite3', 'lib'), join(copied, 'better-sqlite3', 'lib'), { recursive: true });
  copyFileSync(
    join(modules, 'better-sqlite3', 'package.json'),
    join(copied, 'better-sqlite3', 'package.json'),
  );
  const addon = join('better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  mkdirSync(join(copied, addon, '..'), { recursive: true });
  copyFileSync(join(modules, addon), join(copied, addon));
  for (const name of ['bindings', 'file-uri-to-path'])
    cpSync(join(modules, name), join(copied, name), { recursive: true });
  return {
    ...dir,
    argv: [
      'setpriv',
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      // The process runtime preloads its lifeline from the checkout through NODE_OPTIONS, which
      // `nobody` may not be able to read either; the test's orchestrator stops its replicas itself.
      '/usr/bin/env',
      '-u',
      'NODE_OPTIONS',
      process.execPath,
      ...REPLICA_NODE_FLAGS,
      bundle,
    ],
  };
}

export interface Unwritable {
  readonly url: string;
  /** Makes the database writable again. */
  allowWrites(): Promise<void>;
  cleanup(): Promise<void>;
}

/** A migrated SQLite file with one category, owned by `nobody` but without write permission. */
export async function readOnlySqlite(): Promise<Unwritable> {
  const dir = tempDir('sla-readonly-');
  const file = join(dir.path, 'acts.db');
  const database = await openActsDatabase(`sqlite:${file}`);
  await database.db.insertInto('categories').values({ name: 'abc' }).execute();
  await database.destroy();
  chownSync(dir.path, NOBODY, NOBODY);
  for (const name of readdirSync(dir.path)) chownSync(join(dir.path, name), NOBODY, NOBODY);
  chmodSync(file, 0o444);
  return {
    url: `sqlite:${file}`,
    // SQLite gives its -wal and -shm files the database file's mode, so all of them.
    allowWrites: async () => {
      for (const name of readdirSync(dir.path)) chmodSync(join(dir.path, name), 0o644);
    },
    cleanup: async () => dir.remove(),
  };
}

/** A migrated MySQL database with one category, and a user that may only SELECT from it. */
export async function selectOnlyMysql(): Promise<Unwritable> {
  const scratch = scratchMysqlDatabase('readonly');
  const database = await openActsDatabase(scratch.url);
  await database.db.insertInto('categories').values({ name: 'abc' }).execute();
  await database.destroy();
  const user = `sla_ro_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  const admin = new URL(scratch.url);
  const root = () => createConnection({ uri: `${admin.protocol}//${admin.username}@${admin.host}` });
  const conn = await root();
  try {
    await conn.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password]);
    await conn.query(`GRANT SELECT ON \`${scratch.name}\`.* TO ?@?`, [user, '%']);
  } finally {
    await conn.end();
  }
  const url = new URL(scratch.url);
  url.username = user;
  url.password = password;
  return {
    url: url.toString(),
    allowWrites: async () => {
      const c = await root();
      try {
        // Per table: a database-wide grant reaches open connections only at their next USE.
        for (const table of ['categories', 'acts', 'acts_heartbeat'])
          await c.query(`GRANT INSERT, UPDATE, DELETE ON \`${scratch.name}\`.\`${table}\` TO ?@?`, [
            user,
            '%',
          ]);
      } finally {
        await c.end();
      }
    },
    cleanup: async () => {
      const c = await root();
      try {
        await c.query('DROP USER IF EXISTS ?@?', [user, '%']);
      } finally {
        await c.end();
      }
      await scratch.drop();
    },
  };
}

export interface Replica {
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts one acts replica with `argv` and waits until it listens (not until it is healthy). */
export async function startListening(argv: string[], env: Record<string, string>): Promise<Replica> {
  const port = await freePort();
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 45_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`replica exited before listening:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`replica did not listen within 45 s:\n${output}`);
    }
    try {
      const res = await fetch(`${url}/api/v1/_count`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    url,
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
