import type { Generated } from 'kysely';

/** Names are text on SQLite and VARBINARY on MySQL (read back as bytes). */
type Name = string | Buffer;

export interface CategoriesTable {
  seq: Generated<number>;
  name: Name;
  /** Kept equal to the number of its acts by every write that adds or removes one. */
  act_count: Generated<number>;
  /**
   * Moves on (never back) in every transaction that adds or removes one of its acts: while it
   * stays the same, so does the category's listing order.
   */
  acts_version: Generated<number>;
}

export interface ActsTable {
  /** Upload order: breaks ties between equal timestamps. */
  seq: Generated<number>;
  act_id: number;
  category_name: Name;
  username: Name;
  /** As uploaded, `DD-MM-YYYY:SS-MM-HH`. */
  taken_at: string;
  /** `taken_at` as seconds since the epoch: the sortable form. */
  sort_time: number;
  caption: string;
  upvotes: Generated<number>;
  /** The photo, or empty when it is stored in `act_image_chunks` (see photo-chunks.ts). */
  image: Buffer;
}

/** A large photo, in order: chunk 0 first. They go with their act (ON DELETE CASCADE). */
export interface ActImageChunksTable {
  act_seq: number;
  chunk_no: number;
  bytes: Buffer;
}

/** Per username: kept equal to the number of that name's acts, as the category counts are. */
export interface UserActCountsTable {
  username: Name;
  act_count: number;
}

/** One row, written by `_health` to prove the database takes writes. */
export interface HeartbeatTable {
  id: number;
  beats: Generated<number>;
}

export interface ActsDatabase {
  categories: CategoriesTable;
  acts: ActsTable;
  act_image_chunks: ActImageChunksTable;
  user_act_counts: UserActCountsTable;
  acts_heartbeat: HeartbeatTable;
}
