import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../shared/database';
import { LargeText } from '../shared/large-text';
import { compileOnce, compileOnceNowOrLater } from '../shared/prepared-query';
import { isForeignKeyViolation, isUniqueViolation } from '../shared/sql-errors';
import { asNumber, asText } from '../shared/sql-values';
import { actView, type Act, type NewAct } from './act';
import { ListingOrderCache } from './listing-order-cache';
import { ListingOrderReads, PAGE_COLUMNS, type PageRow } from './listing-order-reads';
import { CHUNKED_PHOTO, fitsInRow, readChunkedPhotos, writePhotoChunks } from './photo-chunks';
import type { ActsDatabase } from './schema';
import type { ActsStore, CategorySummary, CreateActOutcome } from './store';

export class SqlActsStore implements ActsStore {
  private readonly db: Kysely<ActsDatabase>;

  /** The reads every page makes, compiled once rather than on every request. */
  private readonly reads: ReturnType<typeof compiledReads>;

  /** Deep category pages by id instead of by position (see listing-order-cache.ts). */
  private readonly orderReads: ListingOrderReads;
  /** Reads of listing orders under way: none is awaited by a request. */
  private readonly ordersBeingRead = new Set<Promise<void>>();

  constructor(
    private readonly database: Database<ActsDatabase>,
    private readonly orders = new ListingOrderCache(),
  ) {
    this.db = database.db;
    this.reads = compiledReads(database);
    this.orderReads = new ListingOrderReads(database.db);
  }

  listCategories(): CategorySummary[] | Promise<CategorySummary[]> {
    const rows = this.reads.categoriesWithCounts.now();
    return rows === undefined
      ? this.reads.categoriesWithCounts().then(categorySummaries)
      : categorySummaries(rows);
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
    // One statement: the category row is locked first and its acts go by the cascade, the
    // same lock order as an upload's (category, then act), so the two cannot deadlock.
    const result = await retryDeadlock(() =>
      this.db.deleteFrom('categories').where('name', '=', name).executeTakeFirst(),
    );
    return result.numDeletedRows > 0n;
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

  /** A deep page from the replica's copy of the order when it still holds, else by position. */
  async listActs(categoryName: string, offset: number, limit: number, total?: number): Promise<Act[]> {
    const plan = this.orders.plan(categoryName, offset, limit, total);
    let rereadOrder = plan.from === 'index' && plan.rereadOrder;
    if (plan.from === 'copy') {
      const rows = await this.orderReads.page(categoryName, plan.order, plan.ids);
      // Photos missing: an act went since, so the order has changed too.
      if (rows.length === plan.ids.length && (await readChunkedPhotos(this.db, rows))) {
        this.orders.served(categoryName, plan.order);
        return inListingOrder(rows);
      }
      rereadOrder = this.orders.stale(categoryName, plan.order);
    }
    try {
      return await this.page({ column: 'category_name', value: categoryName }, offset, limit, total);
    } finally {
      // After the page, which need not wait for it; and even when the page failed, since the
      // cache now waits for this read's outcome.
      if (rereadOrder) this.readOrder(categoryName);
    }
  }

  /** Reads the category's listing order for later pages; the page that asked has its answer. */
  private readOrder(categoryName: string): void {
    const reading = this.orderReads
      .read(categoryName)
      .then(
        (order) =>
          order === undefined
            ? this.orders.orderUnread(categoryName)
            : this.orders.orderRead(categoryName, order),
        () => this.orders.orderUnread(categoryName),
      )
      .finally(() => this.ordersBeingRead.delete(reading));
    this.ordersBeingRead.add(reading);
  }

  /** Settles once the listing orders being read now are in or given up (tests wait on it). */
  async listingOrdersRead(): Promise<void> {
    await Promise.all(this.ordersBeingRead);
  }

  async countUserActs(username: string): Promise<number> {
    // No row: the name never uploaded an act.
    const [row] = await this.reads.userActCount(username);
    return row === undefined ? 0 : asNumber(row.act_count);
  }

  async listUserActs(username: string, offset: number, limit: number, total?: number): Promise<Act[]> {
    return this.page({ column: 'username', value: username }, offset, limit, total);
  }

  async listRecentActs(offset: number, limit: number, total?: number): Promise<Act[]> {
    return this.page(undefined, offset, limit, total);
  }

  /**
   * One page in listing order (newest first), read from the index that matches the filter:
   * the positions are found in the index alone and only the page's rows are fetched. A page
   * nearer the oldest end is read from that end, so the last page of a long listing costs
   * what the first does.
   */
  private async page(
    filter: { column: 'category_name' | 'username'; value: string } | undefined,
    offset: number,
    limit: number,
    total: number | undefined,
  ): Promise<Act[]> {
    const fromOldest = total !== undefined && total - offset - limit < offset;
    const direction = fromOldest ? 'asc' : 'desc';
    const skip = fromOldest ? Math.max(0, total - offset - limit) : offset;
    const take = fromOldest ? Math.min(limit, total - offset) : limit;
    if (take <= 0) return [];
    const key = `${filter?.column ?? 'all'}:${direction}` as const;
    // Read again only when an act of the page was deleted between its row and its photo.
    for (;;) {
      const rows =
        filter === undefined
          ? await this.reads.pages[`all:${direction}`](take, skip)
          : await this.reads.pages[key as `${typeof filter.column}:${typeof direction}`](
              filter.value,
              take,
              skip,
            );
      // Put in order here, not by the database: an ORDER BY on the join matches the feed's
      // index, and SQLite then scans that whole index to avoid sorting the page's few rows.
      if (await readChunkedPhotos(this.db, rows)) return inListingOrder(rows);
    }
  }

  async actExists(actId: number): Promise<boolean> {
    const row = await this.db.selectFrom('acts').select('seq').where('act_id', '=', actId).executeTakeFirst();
    return row !== undefined;
  }

  async createAct(act: NewAct): Promise<CreateActOutcome> {
    try {
      const image = this.imageValue(act.imgB64);
      if (Buffer.isBuffer(image) && !fitsInRow(image.length)) {
        await retryDeadlock(() => this.insertWithChunkedPhoto(act, image));
        return 'created';
      }
      const insert = this.db.insertInto('acts').values(actRow(act, image)).compile();
      await retryDeadlock(() => this.database.runPrepared(insert));
      return 'created';
    } catch (err) {
      if (isUniqueViolation(err)) return 'duplicate-id';
      if (isForeignKeyViolation(err)) return 'no-category';
      throw err;
    }
  }

  /**
   * The act, then its photo chunk by chunk, in one transaction: a failure at any point leaves
   * neither, and the triggers count the act once. Its chunks are small statements, so they go
   * as ordinary ones on the transaction's own connection.
   */
  private async insertWithChunkedPhoto(act: NewAct, photo: Buffer): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const { insertId } = await trx
        .insertInto('acts')
        .values(actRow(act, CHUNKED_PHOTO))
        .executeTakeFirstOrThrow();
      if (insertId === undefined) throw new Error('the database gave no seq for the new act');
      await writePhotoChunks(trx, Number(insertId), photo);
    });
  }

  /**
   * MySQL decodes a photo that fits in its act's row itself, so Node never holds the decoded
   * bytes beside the text; SQLite has no base64 decoder, so it gets the bytes. Either way the
   * statement runs prepared, its parameters never copied into the SQL text.
   */
  private imageValue(imgB64: string | LargeText) {
    // A large photo is decoded where its text was, and bound as bytes on either store.
    if (imgB64 instanceof LargeText) return imgB64.decodeBase64InPlace();
    return this.database.dialect === 'mysql' && fitsInRow(Buffer.byteLength(imgB64, 'base64'))
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
    const result = await retryDeadlock(() =>
      this.db.deleteFrom('acts').where('act_id', '=', actId).executeTakeFirst(),
    );
    return result.numDeletedRows > 0n;
  }

  async countActs(): Promise<number> {
    const row = await this.db
      .selectFrom('categories')
      .select(({ fn }) => fn.sum<number | string | null>('act_count').as('n'))
      .executeTakeFirstOrThrow();
    return row.n === null ? 0 : asNumber(row.n);
  }

  async checkReadable(): Promise<void> {
    await this.db.selectFrom('categories').select('seq').limit(1).execute();
  }

  /**
   * Updates the heartbeat row: a write to a table no request touches. On SQLite a write
   * needs the file's one write lock; instead of queueing behind another process's write
   * (which would block this process), a held lock counts as proof enough that the file
   * takes writes, and the check answers at once.
   */
  async checkWritable(): Promise<void> {
    const beat = (db: Kysely<ActsDatabase>) =>
      db
        .updateTable('acts_heartbeat')
        .set((eb) => ({ beats: eb('beats', '+', 1) }))
        .where('id', '=', 1)
        .executeTakeFirst();
    if (this.database.dialect === 'mysql') {
      const result = await beat(this.db);
      if (result.numUpdatedRows === 0n) throw new Error('heartbeat row is missing');
      return;
    }
    await this.db.connection().execute(async (conn) => {
      const [current] = (await sql<{ timeout: number }>`PRAGMA busy_timeout`.execute(conn)).rows;
      await sql`PRAGMA busy_timeout = 0`.execute(conn);
      try {
        const result = await beat(conn);
        if (result.numUpdatedRows === 0n) throw new Error('heartbeat row is missing');
      } catch (err) {
        if (!isBusy(err)) throw err;
      } finally {
        await sql`PRAGMA busy_timeout = ${sql.raw(String(Number(current?.timeout ?? 5000)))}`.execute(conn);
      }
    });
  }
}

function actRow(act: NewAct, image: Buffer | RawBuilder<Buffer>) {
  return {
    act_id: act.actId,
    category_name: act.categoryName,
    username: act.username,
    taken_at: act.timestamp,
    sort_time: act.sortTime,
    caption: act.caption,
    image,
  };
}

/** A page's rows, newest first (then most recently uploaded), as acts. */
function inListingOrder(rows: PageRow[]): Act[] {
  rows.sort((x, y) => asNumber(y.sort_time) - asNumber(x.sort_time) || asNumber(y.seq) - asNumber(x.seq));
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

const DEADLOCK_RETRIES = 8;
/** The most a retry waits, times its attempt number; the wait is drawn at random below it. */
const DEADLOCK_BACKOFF_MS = 10;

/**
 * MySQL may pick a statement as a deadlock victim when an act's delete, or an upload's
 * transaction writing its photo's chunks, meets its category's delete; the victim had no
 * effect and is run again. After a random pause: two victims retried at once would meet again,
 * and a large upload holds its category's row until its last chunk is written.
 */
async function retryDeadlock<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (attempt >= DEADLOCK_RETRIES || !isDeadlock(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * DEADLOCK_BACKOFF_MS * attempt));
    }
  }
}

function isDeadlock(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { errno?: unknown }).errno === 1213;
}

function isBusy(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

function categorySummaries(
  rows: readonly { name: string | Uint8Array; act_count: unknown }[],
): CategorySummary[] {
  return rows.map((row) => ({ name: asText(row.name), actCount: asNumber(row.act_count) }));
}

function compiledReads(database: Database<ActsDatabase>) {
  const { db } = database;
  const positions = (direction: 'asc' | 'desc') =>
    db.selectFrom('acts').select('seq').orderBy('sort_time', direction).orderBy('seq', direction);
  // Only the page's rows are fetched; their order is put right by the caller (see `page`).
  const pageRows = (page: ReturnType<typeof positions>) =>
    db.selectFrom(page.as('page')).innerJoin('acts', 'acts.seq', 'page.seq').select(PAGE_COLUMNS);
  const filtered = (column: 'category_name' | 'username', direction: 'asc' | 'desc') =>
    compileOnce(db, (value: string, limit: number, offset: number) =>
      pageRows(positions(direction).where(column, '=', value).limit(limit).offset(offset)),
    );
  const all = (direction: 'asc' | 'desc') =>
    compileOnce(db, (limit: number, offset: number) =>
      pageRows(positions(direction).limit(limit).offset(offset)),
    );
  return {
    // The hottest read: answered at once on SQLite (see Database.readNow).
    categoriesWithCounts: compileOnceNowOrLater(database, () =>
      db.selectFrom('categories').select(['name', 'act_count']).orderBy('seq'),
    ),
    categoryActCount: compileOnce(db, (name: string) =>
      db.selectFrom('categories').select('act_count').where('name', '=', name),
    ),
    userActCount: compileOnce(db, (username: string) =>
      db.selectFrom('user_act_counts').select('act_count').where('username', '=', username),
    ),
    pages: {
      'category_name:desc': filtered('category_name', 'desc'),
      'category_name:asc': filtered('category_name', 'asc'),
      'username:desc': filtered('username', 'desc'),
      'username:asc': filtered('username', 'asc'),
      'all:desc': all('desc'),
      'all:asc': all('asc'),
    },
  };
}
