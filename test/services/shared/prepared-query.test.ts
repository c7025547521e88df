import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { join } from 'node:path';
import { silentLogger } from '../../../common/log';
import { openDatabase, type Database } from '../../../services/shared/database';
import { compileOnce, compileOnceNowOrLater } from '../../../services/shared/prepared-query';
import { describeWith } from '../../support/requirements';
import { scratchMysqlDatabase } from '../mysql';
import { tempDir } from '../support';

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

/** The categories read answers at once on SQLite; it must answer exactly what Kysely answers. */
function nowOrLater(engine: 'SQLite' | 'MySQL', open: () => { url: string; drop(): Promise<void> }): void {
  let database: Database<TestDb>;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const target = open();
    drop = target.drop;
    database = await openDatabase<TestDb>(target.url, { logger: silentLogger, connectRetryMs: 0 });
    await database.db.schema
      .createTable('items')
      .addColumn('id', 'integer')
      .addColumn('kind', 'text')
      .execute();
    await database.db
      .insertInto('items')
      .values([1, 2, 3, 4, 5].map((id) => ({ id, kind: id % 2 ? 'odd' : 'even' })))
      .execute();
  });
  afterAll(async () => {
    await database.destroy();
    await drop();
  });
  const byKind = (kind: string) =>
    database.db.selectFrom('items').select(['id', 'kind']).where('kind', '=', kind).orderBy('id');

  test('the promise answers what building the query answers; `now` the same rows, or nothing on MySQL', async () => {
    const read = compileOnceNowOrLater(database, byKind);
    for (const kind of ['odd', 'even', 'none', "odd' OR '1'='1"]) {
      const expected = await byKind(kind).execute();
      expect(await read(kind)).toEqual(expected);
      expect(read.now(kind)).toEqual(engine === 'SQLite' ? expected : undefined);
    }
  });

  // A read at once beside an open transaction would see the transaction's uncommitted rows:
  // there it answers nothing, and the promise waits for the transaction to end.
  test('inside no transaction: an open one is neither seen nor read beside', async () => {
    const read = compileOnceNowOrLater(database, byKind);
    const before = await read('odd');
    let during: { now: unknown; later: Promise<unknown> } | undefined;
    await expect(
      database.db.transaction().execute(async (trx) => {
        await trx.insertInto('items').values({ id: 7, kind: 'odd' }).execute();
        during = { now: read.now('odd'), later: read('odd') };
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(during!.now).toBeUndefined();
    expect(await during!.later).toEqual(before);
    expect(read.now('odd')).toEqual(engine === 'SQLite' ? before : undefined);
  });
}

describe('compileOnceNowOrLater on SQLite', () => {
  nowOrLater('SQLite', () => {
    const dir = tempDir();
    return { url: `sqlite:${join(dir.path, 'items.db')}`, drop: async () => dir.remove() };
  });
});

describeWith('mysql', 'compileOnceNowOrLater on MySQL', () => {
  nowOrLater('MySQL', () => {
    const scratch = scratchMysqlDatabase('prepared');
    return { url: scratch.url, drop: () => scratch.drop() };
  });
});
