import type { Act, NewAct } from './act';

export interface CategorySummary {
  readonly name: string;
  readonly actCount: number;
}

export type CreateActOutcome = 'created' | 'duplicate-id' | 'no-category';

/**
 * What the acts routes need from storage. Names are compared exactly. Uniqueness of actIds,
 * a category's existence at insert time and upvote increments are decided by the database,
 * so replicas sharing it never race each other into bad data.
 */
export interface ActsStore {
  /**
   * In the order the categories were created, with counts kept as acts come and go. The list
   * itself when the database can answer at once (SQLite outside a transaction), else a promise.
   */
  listCategories(): CategorySummary[] | Promise<CategorySummary[]>;
  /** false when the name is taken. */
  createCategory(name: string): Promise<boolean>;
  /** Deletes the category and its acts; false when there is no such category. */
  deleteCategory(name: string): Promise<boolean>;
  categoryExists(name: string): Promise<boolean>;
  /** undefined when there is no such category. */
  countActsInCategory(name: string): Promise<number | undefined>;
  /**
   * Newest first by date-time, then most recently uploaded first; `offset` 0 = newest.
   * `total`, the listing's length when known, lets a page near the end be read from there.
   */
  listActs(categoryName: string, offset: number, limit: number, total?: number): Promise<Act[]>;
  /** How many acts this username uploaded (the user need not exist any more). */
  countUserActs(username: string): Promise<number>;
  /** A user's acts in listing order, paged as `listActs`. */
  listUserActs(username: string, offset: number, limit: number, total?: number): Promise<Act[]>;
  /** Acts of every category in listing order, paged as `listActs`. */
  listRecentActs(offset: number, limit: number, total?: number): Promise<Act[]>;
  actExists(actId: number): Promise<boolean>;
  createAct(act: NewAct): Promise<CreateActOutcome>;
  /** Adds one in the database (never read-then-write); false when there is no such act. */
  upvote(actId: number): Promise<boolean>;
  deleteAct(actId: number): Promise<boolean>;
  countActs(): Promise<number>;
  /** A real read; rejects when the database cannot be read. */
  checkReadable(): Promise<void>;
  /** A real write that no request waits on; rejects when the database cannot be written. */
  checkWritable(): Promise<void>;
}
