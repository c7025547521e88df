import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { compileOnce } from '../../../services/shared/prepared-query';

interface TestDb {
  items: { id: number; kind: string };
}

describe('compileOnce', () => {
  let db: Kysely<TestDb>;
  beforeAll(async () => {
    db = new Kysely<TestDb>({ dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }) });
    await db.schema.createTable('items').addColumn('id', 'integer').addColumn('kind', 'text').execute();
    await db
      .insertInto('items')
      .values([1, 2, 3, 4, 5].map((id) => ({ id, kind: id % 2 ? 'odd' : 'even' })))
      .execute();
  });
  afterAll(() => db.destroy());

  const pageOf = (kind: string, limit: number, offset: number) =>
    db.selectFrom('items').select('id').where('kind', '=', kind).orderBy('id').limit(limit).offset(offset);

  test('each call answers what building the query with those arguments answers', async () => {
    const page = compileOnce(db, pageOf);
    for (const [kind, limit, offset] of [
      ['odd', 2, 0],
      ['odd', 2, 1],
      ['even', 5, 0],
      ['none', 1, 0],
    ] as const) {
      expect(await page(kind, limit, offset)).toEqual(await pageOf(kind, limit, offset).execute());
    }
  });

  test('arguments are sent as parameters, never spliced into the SQL', async () => {
    const byKind = compileOnce(db, (kind: string) =>
      db.selectFrom('items').select('id').where('kind', '=', kind),
    );
    expect(await byKind("odd' OR '1'='1")).toEqual([]);
  });

  test('a query with a constant parameter or an unused argument is refused when compiled', () => {
    expect(() =>
      compileOnce(db, () => db.selectFrom('items').select('id').where('kind', '=', 'odd')),
    ).toThrow(/constant parameter/);
    expect(() => compileOnce(db, (_kind: string) => db.selectFrom('items').select('id'))).toThrow(/unused/);
  });
});
