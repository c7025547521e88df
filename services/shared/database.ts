import BetterSqlite3 from 'better-sqlite3';
import { Kysely, MysqlDialect, SqliteDialect, type CompiledQuery } from 'kysely';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseDatabaseUrl, type DatabaseTarget } from './database-url';
import type { Logger } from '../../common/log';
import { DEFAULT_DEADLINES_MS, withDeadlines } from './mysql-deadlines';
import { DATABASE_TIMEOUT } from './sql-errors';
import { withStatementCache } from './sqlite-statements';

export type Dialect = 'sqlite' | 'mysql';

export interface Database<DB> {
  readonly db: Kysely<DB>;
  readonly dialect: Dialect;
  /**
   * Runs one statement with its parameters sent apart from the SQL text (a server-side
   * prepared statement on MySQL, where Kysely otherwise escapes them into the text): for
   * photo-sized parameters, which would be copied into one huge SQL string first.
   */
  runPrepared(query: CompiledQuery): Promise<void>;
  /**
   * SQLite only (better-sqlite3 reads synchronously): a read of `sql`, prepared on its first
   * call, that answers at once with its rows, with no promise or query executor in between.
   * It answers undefined while a transaction is open on the connection: Kysely holds the one
   * connection for the whole transaction, and a read beside it would see its uncommitted
   * writes. The caller then reads through Kysely, which waits for the transaction to end.
   */
  readonly readNow?: (sql: string) => (parameters: readonly unknown[]) => unknown[] | undefined;
  destroy(): Promise<void>;
}

export interface OpenDatabaseOptions {
  readonly logger: Logger;
  /** How long to keep retrying a MySQL server that is not up yet (containers start in any order). */
  readonly connectRetryMs?: number;
}

/**
 * Errors that mean the database cannot be reached right now (down, restarting, connection cut,
 * hung and not answering in time), as opposed to a query it refused: the request may succeed
 * later, so it is a 503, not a 500.
 */
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'SQLITE_BUSY',
  DATABASE_TIMEOUT,
]);

export function isDatabaseUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, fatal } = err as { code?: unknown; fatal?: unknown };
  return (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) || (fatal === true && code !== undefined);
}

// Photos travel as base64 inside one statement: up to the 24 MB body limit, with room to spare.
const WANTED_MAX_ALLOWED_PACKET = 64 * 1024 * 1024;

export async function openDatabase<DB>(url: string, options: OpenDatabaseOptions): Promise<Database<DB>> {
  const target = parseDatabaseUrl(url);
  return target.kind === 'sqlite' ? openSqlite<DB>(target.path) : openMysql<DB>(target, options);
}

function openSqlite<DB>(path: string): Database<DB> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new BetterSqlite3(path);
  // Several processes share one file: WAL lets readers run beside the writer, and the busy
  // timeout makes a writer wait its turn instead of failing with SQLITE_BUSY.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  // SQLite's own default page cache (2 MB) instead of better-sqlite3's 16 MB: a stored photo
  // passes through the cache page by page, and the operating system caches the file anyway.
  sqlite.pragma('cache_size = -2000');
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return {
    db,
    dialect: 'sqlite',
    // better-sqlite3 always prepares statements and binds their parameters.
    runPrepared: async (query) => {
      await db.executeQuery(query);
    },
    readNow: (sql) => {
      let statement: BetterSqlite3.Statement | undefined;
      return (parameters) => {
        if (sqlite.inTransaction) return undefined;
        statement ??= sqlite.prepare(sql);
        return statement.all(...parameters);
      };
    },
    destroy: () => db.destroy(),
  };
}

type MysqlTarget = Extract<DatabaseTarget, { kind: 'mysql' }>;

async function openMysql<DB>(target: MysqlTarget, options: OpenDatabaseOptions): Promise<Database<DB>> {
  // Loaded only here: a replica on SQLite is lighter by the whole driver (about 10 MB of RSS).
  const { createPool } = await import('mysql2');
  await retryUntil(options.connectRetryMs ?? 30_000, options.logger, () =>
    prepareServer(target, options.logger),
  );
  const pool = createPool({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    charset: 'utf8mb4',
    connectionLimit: 10,
    connectTimeout: DEFAULT_DEADLINES_MS.connect,
    supportBigNumbers: true,
  });
  const bounded = withDeadlines(pool);
  const db = new Kysely<DB>({ dialect: new MysqlDialect({ pool: bounded.kyselyPool }) });
  return {
    db,
    dialect: 'mysql',
    // Kysely compiles only values a driver can send.
    runPrepared: (query) => bounded.execute(query.sql, [...query.parameters]),
    destroy: () => db.destroy(),
  };
}

/** Creates the database when missing and makes room for photo-sized statements. */
async function prepareServer(target: MysqlTarget, logger: Logger): Promise<void> {
  const { createConnection } = await import('mysql2');
  const conn = createConnection({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    charset: 'utf8mb4',
    connectTimeout: DEFAULT_DEADLINES_MS.connect,
  }).promise();
  try {
    // Asked first: a user without CREATE (e.g. one that may only read) is refused even an
    // `IF NOT EXISTS` create of a database that is already there.
    const [existing] = await conn.query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [
      target.database,
    ]);
    if ((existing as unknown[]).length === 0)
      await conn.query(
        `CREATE DATABASE IF NOT EXISTS \`${target.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
      );
    const [rows] = await conn.query('SELECT @@GLOBAL.max_allowed_packet AS packet');
    const current = Number((rows as { packet: unknown }[])[0]?.packet);
    if (current < WANTED_MAX_ALLOWED_PACKET) {
      try {
        await conn.query(`SET GLOBAL max_allowed_packet = ${WANTED_MAX_ALLOWED_PACKET}`);
      } catch (err) {
        logger.warn('cannot raise max_allowed_packet; large photos may be refused by the server', {
          current,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
  } finally {
    await conn.end().catch(() => {});
  }
}

async function retryUntil(budgetMs: number, logger: Logger, attempt: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + budgetMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 4000)) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() + delay > deadline) throw err;
      logger.warn('database not reachable yet, retrying', {
        inMs: delay,
        error: err instanceof Error ? err.message : String(err),
      });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
