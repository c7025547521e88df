/**
 * Deadlines on a mysql2 pool, for a server that hangs rather than refuses (its process stopped,
 * a firewall dropping packets): the kernel or the network keeps connections open, so without
 * deadlines a statement waits for an answer forever, the pool's queue grows behind it, and
 * every request hangs until the front door gives up. With them, waiting for a connection and
 * each statement are bounded and fail with `DatabaseTimeout` (a 503), and a connection whose
 * statement timed out is destroyed, not reused: its next statement would queue behind the
 * unanswered one. Fresh connections reach the server again once it answers.
 */
import type { MysqlPool, MysqlPoolConnection } from 'kysely';
import type { Pool, PoolConnection } from 'mysql2';
import { type Callback, settleWithin } from './deadline';
import { DatabaseTimeout } from './sql-errors';

export interface DeadlinesMs {
  /** Opening one connection, up to the server's greeting (mysql2's `connectTimeout`). */
  connect: number;
  /** Waiting for a pooled connection, including opening a new one: longer than `connect`. */
  acquire: number;
  /** One ordinary statement (the app's statements take milliseconds on a working server). */
  statement: number;
  /** One statement sent with `execute`: a photo-sized parameter takes longer to send. */
  prepared: number;
}

export const DEFAULT_DEADLINES_MS: DeadlinesMs = {
  connect: 2_000,
  acquire: 3_000,
  statement: 5_000,
  prepared: 30_000,
};

export interface DeadlinePool {
  /** What Kysely's MysqlDialect takes as its pool. */
  readonly kyselyPool: MysqlPool;
  /** One statement with its parameters sent apart from the SQL text (a server-side prepared statement). */
  execute(sql: string, values: unknown[]): Promise<void>;
}

export function withDeadlines(pool: Pool, deadlines: DeadlinesMs = DEFAULT_DEADLINES_MS): DeadlinePool {
  const acquire = (callback: Callback<PoolConnection | undefined>) =>
    settleWithin<PoolConnection>(
      {
        ms: deadlines.acquire,
        expire: () => new DatabaseTimeout(`no database connection within ${deadlines.acquire} ms`),
        // Given up on already: back to the pool unused.
        late: (error, connection) => {
          if (!error) connection.release();
        },
      },
      (done) => pool.getConnection(done),
      (error, connection) => callback(error, error ? undefined : connection),
    );

  const kyselyConnection = (connection: PoolConnection): MysqlPoolConnection => ({
    query: ((sql: string, parameters: unknown[], callback?: Callback<unknown>) => {
      // Streaming (no callback) is not used by the services; mysql2's own timeout bounds it.
      if (!callback) return connection.query({ sql, timeout: deadlines.statement }, parameters);
      bounded(connection, deadlines.statement, callback, (done) =>
        connection.query(sql, parameters, (error, result) => done(error, result)),
      );
    }) as MysqlPoolConnection['query'],
    release: () => connection.release(),
  });

  return {
    kyselyPool: {
      getConnection: (callback) =>
        acquire((error, connection) =>
          callback(error, connection ? kyselyConnection(connection) : (undefined as never)),
        ),
      end: (callback) => pool.end(callback),
    },
    execute: (sql, values) =>
      new Promise<void>((resolve, reject) => {
        acquire((acquireError, connection) => {
          if (!connection) return reject(acquireError);
          bounded(
            connection,
            deadlines.prepared,
            (error) => {
              connection.release();
              if (error) reject(error);
              else resolve();
            },
            (done) => connection.execute(sql, values as never, (error) => done(error, undefined)),
          );
        });
      }),
  };
}

/**
 * Runs one statement on `connection`, calling back with its outcome or, past `ms`, with a
 * `DatabaseTimeout` after destroying the connection (whatever it answers later is dropped).
 */
function bounded<T>(
  connection: PoolConnection,
  ms: number,
  callback: Callback<T | undefined>,
  run: (done: Callback<T | undefined>) => void,
): void {
  settleWithin<T | undefined>(
    {
      ms,
      expire: () => {
        connection.destroy();
        return new DatabaseTimeout(`the database did not answer a statement within ${ms} ms`);
      },
    },
    run,
    callback,
  );
}
