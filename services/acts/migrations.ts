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
};
