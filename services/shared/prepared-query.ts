import type { CompiledQuery, Compilable, Kysely } from 'kysely';

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
  return async (...args) => {
    const query: CompiledQuery<Row> = { ...compiled, parameters: positions.map((i) => args[i]) };
    return (await db.executeQuery(query)).rows;
  };
}
