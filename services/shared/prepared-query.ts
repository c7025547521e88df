import type { CompiledQuery, Compilable, Kysely } from 'kysely';
import type { Database } from './database';

/** Stands for one argument while the query is built; never sent to a database. */
class Placeholder {
  constructor(readonly index: number) {}
}

/**
 * A Kysely query built and compiled once, instead of on every request: `build` is called
 * once with placeholders for its arguments, and each call of the result sends the same SQL
 * with the real arguments in the placeholders' positions. Only values Kysely sends as
 * parameters can be arguments (comparisons, limit, offset), and each must be used: that is
 * checked here, once, so a query that would bake an argument into its SQL fails at start-up.
 */
export function compileOnce<DB, Args extends unknown[], Row>(
  db: Kysely<DB>,
  build: (...args: Args) => Compilable<Row>,
  /** How many arguments `build` takes; given only when it takes them as a rest parameter. */
  arity = build.length,
): (...args: Args) => Promise<Row[]> {
  return later(db, compile(build, arity));
}

/** A read compiled once (see compileOnce) that a synchronous database can also answer at once. */
export interface ReadNowOrLater<Args extends unknown[], Row> {
  (...args: Args): Promise<Row[]>;
  /**
   * The same SQL run at once on SQLite (see Database.readNow): the rows, or undefined when
   * the database cannot answer now (a transaction holds the connection; always on MySQL),
   * and the caller takes the promise instead.
   */
  now(...args: Args): Row[] | undefined;
}

export function compileOnceNowOrLater<DB, Args extends unknown[], Row>(
  database: Database<DB>,
  build: (...args: Args) => Compilable<Row>,
): ReadNowOrLater<Args, Row> {
  const compiled = compile(build, build.length);
  const readNow = database.readNow?.(compiled.query.sql);
  const { positions } = compiled;
  const now =
    readNow === undefined
      ? () => undefined
      : (...args: Args) => readNow(positions.map((i) => args[i])) as Row[] | undefined;
  return Object.assign(later(database.db, compiled), { now });
}

interface Compiled<Row> {
  readonly query: CompiledQuery<Row>;
  /** For each parameter of the SQL, the index of the argument it takes. */
  readonly positions: readonly number[];
}

function later<DB, Args extends unknown[], Row>(
  db: Kysely<DB>,
  { query, positions }: Compiled<Row>,
): (...args: Args) => Promise<Row[]> {
  return async (...args) =>
    (await db.executeQuery<Row>({ ...query, parameters: positions.map((i) => args[i]) })).rows;
}

function compile<Args extends unknown[], Row>(
  build: (...args: Args) => Compilable<Row>,
  arity: number,
): Compiled<Row> {
  const placeholders = Array.from({ length: arity }, (_, i) => new Placeholder(i));
  const compiled = build(...(placeholders as Args)).compile();
  const positions = compiled.parameters.map((value) => {
    if (!(value instanceof Placeholder))
      throw new Error(`compileOnce: constant parameter in ${compiled.sql}`);
    return value.index;
  });
  for (const placeholder of placeholders)
    if (!positions.includes(placeholder.index))
      throw new Error(`compileOnce: argument ${placeholder.index} unused in ${compiled.sql}`);
  return { query: compiled, positions };
}
