import type { Kysely } from 'kysely';
import { compileOnce } from '../shared/prepared-query';
import { asNumber } from '../shared/sql-values';
import type { ListingOrder } from './listing-order-cache';
import type { ActsDatabase } from './schema';

/** The columns a page shows, and what puts its rows in order. */
export const PAGE_COLUMNS = [
  'acts.seq',
  'sort_time',
  'act_id',
  'username',
  'taken_at',
  'caption',
  'upvotes',
  'category_name',
  'image',
] as const;

export interface PageRow {
  seq: number;
  sort_time: number;
  act_id: number;
  username: string | Buffer;
  taken_at: string;
  caption: string;
  upvotes: number;
  category_name: string | Buffer;
  image: Buffer;
}

type PageQuery = (...args: unknown[]) => Promise<PageRow[]>;

/** The database side of listing-order-cache.ts: reading a category's order and a page of it. */
export class ListingOrderReads {
  private readonly version;
  private readonly orderedIds;
  /** By page size: one statement per size, compiled when first needed (at most MAX_LISTING). */
  private readonly pagesBySize = new Map<number, PageQuery>();

  constructor(private readonly db: Kysely<ActsDatabase>) {
    this.version = compileOnce(db, (name: string) =>
      db.selectFrom('categories').select(['seq', 'acts_version']).where('name', '=', name),
    );
    this.orderedIds = compileOnce(db, (name: string) =>
      db
        .selectFrom('acts')
        .select('seq')
        .where('category_name', '=', name)
        .orderBy('sort_time', 'desc')
        .orderBy('seq', 'desc'),
    );
  }

  /**
   * The category's act ids in listing order, or undefined when it is gone or changed while
   * being read. Its version is read before and after the ids: it moves on in every
   * transaction that changes the listing and never comes back, so the same version on both
   * sides means no such transaction committed in between, and the ids (one statement, one
   * snapshot, taken in between) are the listing at that version.
   */
  async read(category: string): Promise<ListingOrder | undefined> {
    const [before] = await this.version(category);
    if (before === undefined) return undefined;
    const rows = await this.orderedIds(category);
    const [after] = await this.version(category);
    if (after === undefined) return undefined;
    const categorySeq = asNumber(before.seq);
    const version = asNumber(before.acts_version);
    if (asNumber(after.seq) !== categorySeq || asNumber(after.acts_version) !== version) return undefined;
    const ids = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) ids[i] = asNumber(rows[i]!.seq);
    return { categorySeq, version, ids };
  }

  /**
   * The acts `ids` of `category`, in no particular order, if and only if the category row is
   * still the one `order` was read from, at the same version: one statement, so the check and
   * the rows are of one snapshot. Otherwise no rows.
   */
  async page(category: string, order: ListingOrder, ids: readonly number[]): Promise<PageRow[]> {
    return this.pageOfSize(ids.length)(...ids, category, order.categorySeq, order.version);
  }

  private pageOfSize(size: number): PageQuery {
    let query = this.pagesBySize.get(size);
    if (query === undefined) {
      query = compilePage(this.db, size);
      this.pagesBySize.set(size, query);
    }
    return query;
  }
}

/**
 * One page of `size` acts: called with the `size` ids, then the category's name, seq and
 * version.
 */
function compilePage(db: Kysely<ActsDatabase>, size: number): PageQuery {
  return compileOnce(
    db,
    (...args: unknown[]) => {
      const ids = args.slice(0, size) as number[];
      const [name, categorySeq, version] = args.slice(size) as [string, number, number];
      // The acts are looked up by primary key alone: a condition on their category would let
      // SQLite pick the listing index and walk the whole category. None is needed: at that
      // version the ids are the category's acts.
      return db
        .selectFrom('acts')
        .select(PAGE_COLUMNS)
        .where('acts.seq', 'in', ids)
        .where(({ exists, selectFrom }) =>
          exists(
            selectFrom('categories')
              .select('categories.seq')
              .where('categories.name', '=', name)
              .where('categories.seq', '=', categorySeq)
              .where('categories.acts_version', '=', version),
          ),
        );
    },
    size + 3,
  );
}
