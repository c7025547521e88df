import { Migrator, sql, type Kysely, type Migration, type RawBuilder } from 'kysely';
import type { Dialect } from './database';

// Migrations run before the typed schema exists, so they see the database untyped (as Kysely's own Migrator does).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type UntypedDb = Kysely<any>;

export type MigrationSet = Record<string, (db: UntypedDb, types: ColumnTypes) => Promise<void>>;

/** Column types that mean the same thing on both engines. */
export interface ColumnTypes {
  readonly dialect: Dialect;
  readonly int64: 'integer' | 'bigint';
  /** Compared byte for byte: MySQL's `_bin` collations ignore trailing spaces, VARBINARY does not. */
  readonly exactName: RawBuilder<unknown>;
  readonly longText: RawBuilder<unknown>;
  readonly bytes: RawBuilder<unknown>;
}

export function columnTypes(dialect: Dialect): ColumnTypes {
  return dialect === 'sqlite'
    ? { dialect, int64: 'integer', exactName: sql`text`, longText: sql`text`, bytes: sql`blob` }
    : {
        dialect,
        int64: 'bigint',
        exactName: sql`varbinary(1020)`,
        longText: sql`longtext`,
        bytes: sql`longblob`,
      };
}

/**
 * Brings the schema up to date at start. Each service keeps its own migration tables so
 * both may share one database; the migrator's lock serialises replicas starting together.
 */
export async function migrateToLatest(
  db: UntypedDb,
  dialect: Dialect,
  service: string,
  set: MigrationSet,
): Promise<void> {
  const types = columnTypes(dialect);
  const migrations: Record<string, Migration> = Object.fromEntries(
    Object.entries(set).map(([name, up]) => [name, { up: (kdb: UntypedDb) => up(kdb, types) }]),
  );
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: `${service}_migrations`,
    migrationLockTableName: `${service}_migrations_lock`,
  });
  // Replicas sharing one SQLite file may start together; the migrator's lock there is only
  // in-process, so the loser of the race sees SQLITE_BUSY and simply tries again (every step
  // is idempotent and already-applied migrations are skipped).
  for (let attempt = 1; ; attempt++) {
    const { error } = await migrator.migrateToLatest();
    if (!error) return;
    if (attempt >= 5) throw error;
    await new Promise((resolve) => setTimeout(resolve, 100 * attempt + Math.random() * 200));
  }
}
