import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Distinct statements the services run are a few dozen; the bound only guards against growth. */
const MAX_CACHED_STATEMENTS = 200;

/**
 * The SQLite database as Kysely sees it, with each distinct SQL text prepared once: the query
 * planner's work per statement costs more than running one of these small reads. The oldest
 * statement is dropped beyond the bound. Safe because Kysely runs one statement at a time on
 * SQLite and finishes it (`all`/`run`) before the next.
 */
export function withStatementCache(
  database: SqliteDatabase,
  maxStatements = MAX_CACHED_STATEMENTS,
): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    prepare(sql) {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = database.prepare(sql);
        if (statements.size >= maxStatements) statements.delete(statements.keys().next().value!);
        statements.set(sql, statement);
      }
      return statement;
    },
    close() {
      statements.clear();
      database.close();
    },
  };
}
