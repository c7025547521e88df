import { sql } from 'kysely';
import type { MigrationSet } from '../shared/migrate';

export const actsMigrations: MigrationSet = {
  '001_categories_and_acts': async (db, t) => {
    await db.schema
      .createTable('categories')
      .ifNotExists()
      .addColumn('seq', t.int64, (c) => c.primaryKey().autoIncrement())
      .addColumn('name', t.exactName, (c) => c.notNull().unique())
      .execute();
    await db.schema
      .createTable('acts')
      .ifNotExists()
      .addColumn('seq', t.int64, (c) => c.primaryKey().autoIncrement())
      .addColumn('act_id', t.int64, (c) => c.notNull().unique())
      .addColumn('category_name', t.exactName, (c) => c.notNull())
      .addColumn('username', t.exactName, (c) => c.notNull())
      .addColumn('taken_at', 'varchar(19)', (c) => c.notNull())
      .addColumn('sort_time', t.int64, (c) => c.notNull())
      .addColumn('caption', t.longText, (c) => c.notNull())
      .addColumn('upvotes', t.int64, (c) => c.notNull().defaultTo(0))
      .addColumn('image', t.bytes, (c) => c.notNull())
      // An act can never outlive its category, even when a delete races an upload.
      .addForeignKeyConstraint('acts_category_fk', ['category_name'], 'categories', ['name'], (fk) =>
        fk.onDelete('cascade'),
      )
      .execute();
    await db.schema
      .createIndex('acts_listing')
      .ifNotExists()
      .on('acts')
      .columns(['category_name', 'sort_time', 'seq'])
      .execute();
  },
  '002_counts_feeds_and_heartbeat': async (db, t) => {
    // Counted as acts come and go, in the same transaction, so listings never recount.
    await db.schema
      .alterTable('categories')
      .addColumn('act_count', t.int64, (c) => c.notNull().defaultTo(0))
      .execute();
    await sql`UPDATE categories SET act_count = (SELECT COUNT(*) FROM acts WHERE acts.category_name = categories.name)`.execute(
      db,
    );
    // The engine keeps the counts: every insert and delete of an act, whatever issues it,
    // changes its category's count inside the same statement. On MySQL the count is taken
    // before the row goes in, so an upload locks its category row once, exclusively, instead
    // of taking the foreign key's shared lock first and deadlocking with a parallel upload.
    // (A category's own cascade skips the decrement on MySQL; its count row goes with it.)
    const forEachRow = t.dialect === 'mysql' ? sql`FOR EACH ROW` : sql``;
    const [open, close] = t.dialect === 'mysql' ? [sql``, sql``] : [sql`BEGIN`, sql`; END`];
    await sql`CREATE TRIGGER acts_counted_in BEFORE INSERT ON acts ${forEachRow} ${open}
      UPDATE categories SET act_count = act_count + 1 WHERE name = NEW.category_name${close}`.execute(db);
    await sql`CREATE TRIGGER acts_counted_out AFTER DELETE ON acts ${forEachRow} ${open}
      UPDATE categories SET act_count = act_count - 1 WHERE name = OLD.category_name${close}`.execute(db);
    // Each listing's order, so a page is read from its index, never sorted from a scan.
    await db.schema
      .createIndex('acts_by_user')
      .on('acts')
      .columns(['username', 'sort_time', 'seq'])
      .execute();
    await db.schema.createIndex('acts_recent').on('acts').columns(['sort_time', 'seq']).execute();
    // One row that `_health` updates: a write no request ever waits on.
    await db.schema
      .createTable('acts_heartbeat')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('beats', t.int64, (c) => c.notNull().defaultTo(0))
      .execute();
    await db.insertInto('acts_heartbeat').values({ id: 1, beats: 0 }).execute();
  },
  '003_user_act_counts': async (db, t) => {
    // A user's listing reads its length from here instead of counting the user's acts.
    // Kept like the category counts: by the engine, inside the statement that adds or
    // removes acts. A row may stay at 0 once its user's acts are gone.
    await db.schema
      .createTable('user_act_counts')
      .addColumn('username', t.exactName, (c) => c.primaryKey())
      .addColumn('act_count', t.int64, (c) => c.notNull())
      .execute();
    const forEachRow = t.dialect === 'mysql' ? sql`FOR EACH ROW` : sql``;
    const [open, close] = t.dialect === 'mysql' ? [sql``, sql``] : [sql`BEGIN`, sql`; END`];
    const addOne =
      t.dialect === 'mysql'
        ? sql`INSERT INTO user_act_counts (username, act_count) VALUES (NEW.username, 1)
            ON DUPLICATE KEY UPDATE act_count = act_count + 1`
        : sql`INSERT INTO user_act_counts (username, act_count) VALUES (NEW.username, 1)
            ON CONFLICT (username) DO UPDATE SET act_count = act_count + 1`;
    // After the category's count: the same lock order as every other write (category, act, user).
    await sql`CREATE TRIGGER acts_user_counted_in AFTER INSERT ON acts ${forEachRow} ${open}
      ${addOne}${close}`.execute(db);
    await sql`CREATE TRIGGER acts_user_counted_out AFTER DELETE ON acts ${forEachRow} ${open}
      UPDATE user_act_counts SET act_count = act_count - 1 WHERE username = OLD.username${close}`.execute(db);
    // SQLite runs the trigger above for every act a category's cascade removes. MySQL's
    // cascades run no triggers, so there the category's delete takes its acts off their
    // users' counts, grouped per user, before the cascade, in the same statement. The
    // category row is locked by then, so no upload can add an act to it meanwhile, and the
    // acts are read with locks (a write statement's reads are locking reads on InnoDB).
    if (t.dialect === 'mysql')
      await sql`CREATE TRIGGER category_acts_uncounted BEFORE DELETE ON categories FOR EACH ROW
        UPDATE user_act_counts AS u
        JOIN (SELECT username, COUNT(*) AS n FROM acts WHERE category_name = OLD.name GROUP BY username) AS gone
          ON gone.username = u.username
        SET u.act_count = u.act_count - gone.n`.execute(db);
    // The counts of the acts already there, taken once the triggers run: on MySQL the
    // migration is no transaction and an older replica may upload meanwhile. The read locks
    // the acts it counts and its count replaces whatever the triggers wrote before it, so an
    // act is counted once whether it came before, during or after this statement.
    const replaceCount =
      t.dialect === 'mysql'
        ? sql`ON DUPLICATE KEY UPDATE act_count = VALUES(act_count)`
        : sql`ON CONFLICT (username) DO UPDATE SET act_count = excluded.act_count`;
    // (`WHERE true`: SQLite's parser needs it before an upsert's ON CONFLICT.)
    await sql`INSERT INTO user_act_counts (username, act_count)
      SELECT username, COUNT(*) FROM acts WHERE true GROUP BY username ${replaceCount}`.execute(db);
  },
  '004_category_acts_versions': async (db, t) => {
    // A category's listing order changes only when one of its acts comes or goes (the order,
    // date-time then upload, is fixed at upload; an upvote does not move an act). Each such
    // change moves the category's version on, inside the statement that makes it, so a
    // replica that read the order at one version knows it still holds when the version does
    // (see listing-order-cache.ts). Existing rows start at 0: a version is only ever compared
    // with an earlier read of the same category row (same `seq`, which is never reused).
    await db.schema
      .alterTable('categories')
      .addColumn('acts_version', t.int64, (c) => c.notNull().defaultTo(0))
      .execute();
    // Beside the count triggers, on the category row they have already locked, so an upload or
    // a delete takes no new lock. A category's cascade needs none: its row, and with it the
    // version a replica read, is gone, and a category made again under the name is a new row.
    const forEachRow = t.dialect === 'mysql' ? sql`FOR EACH ROW` : sql``;
    const [open, close] = t.dialect === 'mysql' ? [sql``, sql``] : [sql`BEGIN`, sql`; END`];
    await sql`CREATE TRIGGER acts_versioned_in BEFORE INSERT ON acts ${forEachRow} ${open}
      UPDATE categories SET acts_version = acts_version + 1 WHERE name = NEW.category_name${close}`.execute(
      db,
    );
    await sql`CREATE TRIGGER acts_versioned_out AFTER DELETE ON acts ${forEachRow} ${open}
      UPDATE categories SET acts_version = acts_version + 1 WHERE name = OLD.category_name${close}`.execute(
      db,
    );
  },
  '005_act_image_chunks': async (db, t) => {
    // Large photos as ordered chunks (see photo-chunks.ts). Photos already stored stay in their
    // act's row, where they are read as before. The chunks go with their act, also when the act
    // goes by its category's cascade (MySQL runs no triggers there, but it does cascade).
    await db.schema
      .createTable('act_image_chunks')
      .ifNotExists()
      .addColumn('act_seq', t.int64, (c) => c.notNull())
      .addColumn('chunk_no', 'integer', (c) => c.notNull())
      .addColumn('bytes', t.bytes, (c) => c.notNull())
      .addPrimaryKeyConstraint('act_image_chunks_pk', ['act_seq', 'chunk_no'])
      .addForeignKeyConstraint('act_image_chunks_act_fk', ['act_seq'], 'acts', ['seq'], (fk) =>
        fk.onDelete('cascade'),
      )
      .execute();
  },
};
