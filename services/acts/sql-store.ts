import { sql, type Kysely } from 'kysely';
import type { Database } from '../shared/database';
import { LargeText } from '../shared/large-text';
import { compileOnce } from '../shared/prepared-query';
import { isForeignKeyViolation, isUniqueViolation } from '../shared/sql-errors';
import { asNumber, asText } from '../shared/sql-values';
import { actView, type Act, type NewAct } from './act';
import type { ActsDatabase } from './schema';
import type { ActsStore, CategorySummary, CreateActOutcome } from './store';

export class SqlActsStore implements ActsStore {
  private readonly db: Kysely<ActsDatabase>;

  /** The reads every page makes, compiled once rather than on every request. */
  private readonly reads: ReturnType<typeof compiledReads>;

  constructor(private readonly database: Database<ActsDatabase>) {
    this.db = database.db;
    this.reads = compiledReads(database.db);
  }

  async listCategories(): Promise<CategorySummary[]> {
    const rows = await this.reads.categoriesWithCounts();
    return rows.map((row) => ({ name: asText(row.name), actCount: asNumber(row.act_count) }));
  }

  async createCategory(name: string): Promise<boolean> {
    try {
      await this.db.insertInto('categories').values({ name }).execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async deleteCategory(name: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('acts').where('category_name', '=', name).execute();
      const result = await trx.deleteFrom('categories').where('name', '=', name).executeTakeFirst();
      return result.numDeletedRows > 0n;
    });
  }

  async categoryExists(name: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('categories')
      .select('seq')
      .where('name', '=', name)
      .executeTakeFirst();
    return row !== undefined;
  }

  async countActsInCategory(name: string): Promise<number | undefined> {
    const [row] = await this.reads.categoryActCount(name);
    return row === undefined ? undefined : asNumber(row.act_count);
  }

  async listActs(categoryName: string, offset: number, limit: number): Promise<Act[]> {
    const rows = await this.reads.actsPage(categoryName, limit, offset);
    return rows.map((row) =>
      actView({
        actId: asNumber(row.act_id),
        username: asText(row.username),
        timestamp: row.taken_at,
        caption: row.caption,
        upvotes: asNumber(row.upvotes),
        categoryName: asText(row.category_name),
        imgB64: Buffer.from(row.image).toString('base64'),
      }),
    );
  }

  async actExists(actId: number): Promise<boolean> {
    const row = await this.db.selectFrom('acts').select('seq').where('act_id', '=', actId).executeTakeFirst();
    return row !== undefined;
  }

  async createAct(act: NewAct): Promise<CreateActOutcome> {
    try {
      const insert = this.db
        .insertInto('acts')
        .values({
          act_id: act.actId,
          category_name: act.categoryName,
          username: act.username,
          taken_at: act.timestamp,
          sort_time: act.sortTime,
          caption: act.caption,
          image: this.imageValue(act.imgB64),
        })
        .compile();
      await this.database.runPrepared(insert);
      return 'created';
    } catch (err) {
      if (isUniqueViolation(err)) return 'duplicate-id';
      if (isForeignKeyViolation(err)) return 'no-category';
      throw err;
    }
  }

  /**
   * MySQL decodes the photo itself, so Node never holds the decoded bytes beside the text;
   * SQLite has no base64 decoder, so it gets the bytes. Either way the statement runs prepared,
   * its parameters never copied into the SQL text.
   */
  private imageValue(imgB64: string | LargeText) {
    // A large photo is decoded where its text was, and bound as bytes on either store.
    if (imgB64 instanceof LargeText) return imgB64.decodeBase64InPlace();
    return this.database.dialect === 'mysql'
      ? sql<Buffer>`FROM_BASE64(${imgB64})`
      : Buffer.from(imgB64, 'base64');
  }

  async upvote(actId: number): Promise<boolean> {
    const result = await this.db
      .updateTable('acts')
      .set((eb) => ({ upvotes: eb('upvotes', '+', 1) }))
      .where('act_id', '=', actId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async deleteAct(actId: number): Promise<boolean> {
    const result = await this.db.deleteFrom('acts').where('act_id', '=', actId).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async countActs(): Promise<number> {
    const row = await this.db
      .selectFrom('acts')
      .select(({ fn }) => fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    return asNumber(row.n);
  }

  async checkReadable(): Promise<void> {
    await this.db.selectFrom('categories').select('seq').limit(1).execute();
  }
}

function compiledReads(db: Kysely<ActsDatabase>) {
  return {
    categoriesWithCounts: compileOnce(db, () =>
      db
        .selectFrom('categories as c')
        .leftJoin('acts as a', 'a.category_name', 'c.name')
        .select(({ fn }) => ['c.name', fn.count('a.seq').as('act_count')])
        .groupBy(['c.seq', 'c.name'])
        .orderBy('c.seq'),
    ),
    categoryActCount: compileOnce(db, (name: string) =>
      db
        .selectFrom('categories as c')
        .leftJoin('acts as a', 'a.category_name', 'c.name')
        .select(({ fn }) => fn.count('a.seq').as('act_count'))
        .where('c.name', '=', name)
        .groupBy('c.seq'),
    ),
    actsPage: compileOnce(db, (categoryName: string, limit: number, offset: number) =>
      db
        .selectFrom('acts')
        .select(['act_id', 'username', 'taken_at', 'caption', 'upvotes', 'category_name', 'image'])
        .where('category_name', '=', categoryName)
        .orderBy('sort_time', 'desc')
        .orderBy('seq', 'desc')
        .limit(limit)
        .offset(offset),
    ),
  };
}
