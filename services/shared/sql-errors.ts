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
