/** Constraint violations by engine, so stores can turn "the database refused" into a 400. */
interface DriverError {
  code?: unknown;
  errno?: unknown;
}

function fields(err: unknown): DriverError {
  return typeof err === 'object' && err !== null ? (err as DriverError) : {};
}

export function isUniqueViolation(err: unknown): boolean {
  const { code, errno } = fields(err);
  return (
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === 'ER_DUP_ENTRY' ||
    errno === 1062
  );
}

export function isForeignKeyViolation(err: unknown): boolean {
  const { code, errno } = fields(err);
  return code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === 'ER_NO_REFERENCED_ROW_2' || errno === 1452;
}

/**
 * The code of a database that did not answer in time (a statement, a connection, a health
 * check): the server is hung or unreachable, not refusing, so the request may succeed later.
 */
export const DATABASE_TIMEOUT = 'DATABASE_TIMEOUT';

export class DatabaseTimeout extends Error {
  readonly code = DATABASE_TIMEOUT;
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseTimeout';
  }
}
