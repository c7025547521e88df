/**
 * Which deep pages of a category listing a replica reads from its own copy of the listing's
 * order, and when it reads that order again. Only the bookkeeping lives here; the reads are
 * in listing-order-reads.ts.
 *
 * A page is positions in the listing, and SQL can only find position N of an index by walking
 * the N entries before it (`OFFSET`): the middle page of a 40,000-act category walks 20,000.
 * The copy holds the category's act `seq`s in listing order, tagged with the category row and
 * the version the database kept for it when they were read (`categories.acts_version`, moved on
 * by every transaction that adds or removes one of its acts). A page is then a slice of the
 * copy, fetched by primary key in one statement that also requires the category row to still be
 * at that version; when it is not, the statement returns no rows and the page is read by
 * `OFFSET` as before. So the copy may be stale, but a stale copy never serves a page.
 */

/** Acts between a page and the nearer end of its listing before the copy is used: closer pages cost little by `OFFSET`. */
export const DEEP_POSITION = 1_000;

/** Most act ids all copies together hold (8 bytes each: 4 MB); the least recently read go first. */
export const MAX_CACHED_IDS = 500_000;

/**
 * Reading a copy walks the whole listing and brings every id into the process: a few deep
 * pages' worth of `OFFSET` reads. A copy that goes stale having served fewer pages than this
 * was not worth its read.
 */
export const PAGES_WORTH_A_READ = 4;

/**
 * After a copy that was not worth its read (or a read that failed), the deep pages read by
 * `OFFSET` before the next read double, up to this many: a category written to between its
 * deep pages is not read again for each one.
 */
export const MAX_MISSES_BEFORE_REREAD = 64;

/** A listing's order as read at one version of its category row. */
export interface ListingOrder {
  /** The category row's `seq`: a category deleted and made again is another row. */
  readonly categorySeq: number;
  readonly version: number;
  /** Act `seq`s, newest first. */
  readonly ids: Float64Array;
}

/** How to read one page: from the index by position, or these acts if the copy still holds. */
export type PagePlan =
  | { readonly from: 'index'; readonly rereadOrder: boolean }
  | { readonly from: 'copy'; readonly order: ListingOrder; readonly ids: readonly number[] };

export interface ListingOrderLimits {
  readonly deepPosition: number;
  readonly maxCachedIds: number;
  readonly pagesWorthARead: number;
  readonly maxMissesBeforeReread: number;
}

const LIMITS: ListingOrderLimits = {
  deepPosition: DEEP_POSITION,
  maxCachedIds: MAX_CACHED_IDS,
  pagesWorthARead: PAGES_WORTH_A_READ,
  maxMissesBeforeReread: MAX_MISSES_BEFORE_REREAD,
};

interface Entry {
  order: ListingOrder | undefined;
  /** Pages the current copy served. */
  hits: number;
  /** Deep pages read by `OFFSET` since the copy was last read (or found stale). */
  misses: number;
  /** Misses before the copy is read again. */
  missesBeforeReread: number;
  reading: boolean;
}

export class ListingOrderCache {
  /** In order of last use, least recent first. */
  private readonly entries = new Map<string, Entry>();
  private cachedIds = 0;
  private servedFromCopies = 0;

  constructor(private readonly limits: ListingOrderLimits = LIMITS) {}

  /**
   * `total` is the listing's length as counted for this request (undefined: not known, so
   * read by position). A plan with `rereadOrder` asks the caller to read the order (once;
   * report back with `orderRead` or `orderUnread`).
   */
  plan(category: string, offset: number, limit: number, total: number | undefined): PagePlan {
    if (total === undefined || !this.isDeep(offset, limit, total))
      return { from: 'index', rereadOrder: false };
    const entry = this.touch(category);
    const order = entry.order;
    if (order !== undefined && offset < order.ids.length) {
      const ids = Array.from(order.ids.subarray(offset, Math.min(offset + limit, order.ids.length)));
      return { from: 'copy', order, ids };
    }
    return { from: 'index', rereadOrder: this.miss(entry) };
  }

  /** The copy served the page. */
  served(category: string, order: ListingOrder): void {
    const entry = this.entries.get(category);
    if (entry?.order !== order) return;
    entry.hits++;
    this.servedFromCopies++;
  }

  /**
   * The copy no longer holds (its category moved on or is gone): dropped, and the page is read
   * by `OFFSET`. Returns whether the caller should read the order again.
   */
  stale(category: string, order: ListingOrder): boolean {
    const entry = this.entries.get(category);
    if (entry === undefined) return false;
    if (entry.order === order) {
      this.drop(entry);
      entry.missesBeforeReread = entry.hits < this.limits.pagesWorthARead ? this.backedOff(entry) : 1;
      entry.misses = 0;
    }
    return this.miss(entry);
  }

  /** The order read for a `rereadOrder` plan; kept if it fits. */
  orderRead(category: string, order: ListingOrder): void {
    const entry = this.entries.get(category);
    if (entry === undefined) return;
    entry.reading = false;
    if (order.ids.length > this.limits.maxCachedIds) return;
    this.drop(entry);
    entry.order = order;
    entry.hits = 0;
    this.cachedIds += order.ids.length;
    for (const [name, other] of this.entries) {
      if (this.cachedIds <= this.limits.maxCachedIds) break;
      if (other !== entry) this.forget(name, other);
    }
  }

  /** The order could not be read (it changed while being read, or the read failed). */
  orderUnread(category: string): void {
    const entry = this.entries.get(category);
    if (entry === undefined) return;
    entry.reading = false;
    entry.missesBeforeReread = this.backedOff(entry);
  }

  /** Pages served from a copy so far. */
  get pagesFromCopies(): number {
    return this.servedFromCopies;
  }

  /** Act ids held by all copies together. */
  get size(): number {
    return this.cachedIds;
  }

  private isDeep(offset: number, limit: number, total: number): boolean {
    const fromNewest = offset;
    const fromOldest = total - offset - limit;
    return Math.min(fromNewest, fromOldest) >= this.limits.deepPosition;
  }

  /** Counts a deep page read by `OFFSET`; true when it is time to read the order again. */
  private miss(entry: Entry): boolean {
    if (entry.reading) return false;
    entry.misses++;
    if (entry.misses < entry.missesBeforeReread) return false;
    entry.misses = 0;
    entry.reading = true;
    return true;
  }

  private backedOff(entry: Entry): number {
    return Math.min(entry.missesBeforeReread * 2, this.limits.maxMissesBeforeReread);
  }

  /** The category's entry, made most recently used. */
  private touch(category: string): Entry {
    const entry = this.entries.get(category) ?? {
      order: undefined,
      hits: 0,
      misses: 0,
      missesBeforeReread: 1,
      reading: false,
    };
    this.entries.delete(category);
    this.entries.set(category, entry);
    // Bookkeeping without a copy is small, but one entry per category ever read deep is kept
    // only while there could be that many copies.
    for (const [name, other] of this.entries) {
      if (this.entries.size <= this.maxEntries()) break;
      if (other !== entry) this.forget(name, other);
    }
    return entry;
  }

  private maxEntries(): number {
    // A copy is at least a listing with a deep page: two deep positions long.
    return Math.max(1, Math.floor(this.limits.maxCachedIds / (2 * this.limits.deepPosition)));
  }

  private drop(entry: Entry): void {
    if (entry.order === undefined) return;
    this.cachedIds -= entry.order.ids.length;
    entry.order = undefined;
  }

  private forget(category: string, entry: Entry): void {
    this.drop(entry);
    this.entries.delete(category);
  }
}
