import { join } from 'node:path';
import { silentLogger } from '../../../common/log';
import { actsMigrations } from '../../../services/acts/migrations';
import type { ActsDatabase } from '../../../services/acts/schema';
import { SqlActsStore } from '../../../services/acts/sql-store';
import { openDatabase } from '../../../services/shared/database';
import { migrateToLatest } from '../../../services/shared/migrate';
import { asText } from '../../../services/shared/sql-values';
import { describeWith } from '../../support/requirements';
import { scratchMysqlDatabase } from '../mysql';
import { tempDir } from '../support';

/** The migrations up to, not including, the one that adds the kept per-user counts. */
const BEFORE_USER_COUNTS = Object.fromEntries(
  Object.entries(actsMigrations).filter(([name]) => name < '003_user_act_counts'),
);

/** Uploaders of acts 1..n in turn; names compared exactly (case and trailing space matter). */
const UPLOADERS = ['bob', 'Bob', 'bob ', 'böb 🐱', 'bob'];

/** A database with acts from before the per-user counts existed gets them from its rows. */
function userCountMigration(makeTarget: () => { url: string; cleanup(): Promise<void> }): void {
  test('the migration counts each user’s existing acts; the counts then follow deletes', async () => {
    const target = makeTarget();
    const database = await openDatabase<ActsDatabase>(target.url, {
      logger: silentLogger,
      connectRetryMs: 0,
    });
    try {
      await migrateToLatest(database.db, database.dialect, 'acts', BEFORE_USER_COUNTS);
      await database.db
        .insertInto('categories')
        .values([{ name: 'old' }, { name: 'older' }])
        .execute();
      const rows = Array.from({ length: 23 }, (_, i) => ({
        act_id: i + 1,
        category_name: i % 2 === 0 ? 'old' : 'older',
        username: UPLOADERS[i % UPLOADERS.length],
        taken_at: '10-10-2019:45-23-03',
        sort_time: 1_570_679_145 + i,
        caption: `act ${i + 1}`,
        image: Buffer.from('photo'),
      }));
      await database.db.insertInto('acts').values(rows).execute();
      const expected = new Map<string, number>();
      for (const row of rows) expected.set(row.username, (expected.get(row.username) ?? 0) + 1);

      await migrateToLatest(database.db, database.dialect, 'acts', actsMigrations);
      const kept = await database.db
        .selectFrom('user_act_counts')
        .select(['username', 'act_count'])
        .execute();
      expect(new Map(kept.map((r) => [asText(r.username), Number(r.act_count)]))).toEqual(expected);

      const store = new SqlActsStore(database);
      for (const [name, count] of expected)
        expect([name, await store.countUserActs(name)]).toEqual([name, count]);
      expect(await store.countUserActs('BOB')).toBe(0);
      // Acts from before the migration leave the counts right when they go, one by one or
      // with their category.
      expect(await store.deleteAct(1)).toBe(true);
      expect(await store.deleteCategory('older')).toBe(true);
      const left = await database.db.selectFrom('acts').select('username').execute();
      for (const name of expected.keys())
        expect([name, await store.countUserActs(name)]).toEqual([
          name,
          left.filter((r) => asText(r.username) === name).length,
        ]);
    } finally {
      await database.destroy();
      await target.cleanup();
    }
  });
}

describe('per-user counts migration on SQLite', () => {
  userCountMigration(() => {
    const dir = tempDir();
    return { url: `sqlite:${join(dir.path, 'acts.db')}`, cleanup: async () => dir.remove() };
  });
});

describeWith('mysql', 'per-user counts migration on MySQL', () => {
  userCountMigration(() => {
    const scratch = scratchMysqlDatabase('usercount');
    return { url: scratch.url, cleanup: () => scratch.drop() };
  });
});
