import type { MigrationSet } from '../shared/migrate';

export const usersMigrations: MigrationSet = {
  '001_users': async (db, t) => {
    await db.schema
      .createTable('users')
      .ifNotExists()
      .addColumn('seq', t.int64, (c) => c.primaryKey().autoIncrement())
      .addColumn('username', t.exactName, (c) => c.notNull().unique())
      .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
      .execute();
  },
};
