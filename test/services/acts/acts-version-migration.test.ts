import { join } from 'node:path';
import { silentLogger } from '../../../common/log';
import { parseNewAct } from '../../../services/acts/act';
import { ListingOrderCache } from '../../../services/acts/listing-order-cache';
import { actsMigrations } from '../../../services/acts/migrations';
import type { ActsDatabase } from '../../../services/acts/schema';
import { SqlActsStore } from '../../../services/acts/sql-store';
import { openDatabase } from '../../../services/shared/database';
import { migrateToLatest } from '../../../services/shared/migrate';
import { asText } from '../../../services/shared/sql-values';
import { describeWith } from '../../support/requirements';
import { scratchMysqlDatabase } from '../mysql';
import { act, tempDir } from '../support';

/** The migrations up to, not including, the one that adds the categories' versions. */
const BEFORE_VERSIONS = Object.fromEntries(
  Object.entries(actsMigrations).filter(([name]) => name < '004_category_acts_versions'),
);

const LIMITS = { deepPosition: 5, maxCachedIds: 1_000, pagesWorthARead: 0, maxMissesBeforeReread: 8 };

/**
 * A database with acts from before the versions existed gets them; from then on every act that
 * comes or goes moves its category's version by one, and nothing else does.
 */
function versionMigration(makeTarget: () => { url: string; cleanup(): Promise<void> }): void {
  test('existing categories get a version; uploads and deletes move it, upvotes and other categories do not', async () => {
    const target = makeTarget();
    const database = await openDatabase<ActsDatabase>(target.url, {
      logger: silentLogger,
      connectRetryMs: 0,
    });
    try {
      await migrateToLatest(database.db, database.dialect, 'acts', BEFORE_VERSIONS);
      await database.db
        .insertInto('categories')
        .values([{ name: 'old' }, { name: 'older' }, { name: 'empty' }])
        .execute();
      const rows = Array.from({ length: 40 }, (_, i) => ({
        act_id: i + 1,
        category_name: i % 4 === 0 ? 'older' : 'old',
        username: 'bob',
        taken_at: '10-10-2019:45-23-03',
        sort_time: 1_570_679_145 + (i % 3),
        caption: `act ${i + 1}`,
        image: Buffer.from('photo'),
      }));
      await database.db.insertInto('acts').values(rows).execute();

      await migrateToLatest(database.db, database.dialect, 'acts', actsMigrations);
      const versions = async () =>
        new Map(
          (await database.db.selectFrom('categories').select(['name', 'acts_version']).execute()).map((r) => [
            asText(r.name),
            Number(r.acts_version),
          ]),
        );
      expect(await versions()).toEqual(
        new Map([
          ['old', 0],
          ['older', 0],
          ['empty', 0],
        ]),
      );

      const orders = new ListingOrderCache(LIMITS);
      const store = new SqlActsStore(database, orders);
      const byPosition = new SqlActsStore(
        database,
        new ListingOrderCache({ ...LIMITS, deepPosition: Infinity }),
      );
      const deepPage = async (s: SqlActsStore) =>
        s.listActs('old', 10, 5, await s.countActsInCategory('old'));
      await deepPage(store);
      await store.listingOrdersRead();
      expect(await deepPage(store)).toEqual(await deepPage(byPosition));
      expect(orders.pagesFromCopies).toBe(1);

      expect(await store.createAct(parseNewAct(act({ actId: 100, categoryName: 'old' })))).toBe('created');
      expect(await store.createAct(parseNewAct(act({ actId: 101, categoryName: 'old' })))).toBe('created');
      expect(await store.createAct(parseNewAct(act({ actId: 100, categoryName: 'older' })))).toBe(
        'duplicate-id',
      );
      expect(await store.createAct(parseNewAct(act({ actId: 102, categoryName: 'gone' })))).toBe(
        'no-category',
      );
      expect(await store.upvote(2)).toBe(true);
      // An act from before the migration.
      expect(await store.deleteAct(3)).toBe(true);
      expect(await versions()).toEqual(
        new Map([
          ['old', 3],
          ['older', 0],
          ['empty', 0],
        ]),
      );
      expect(await deepPage(store)).toEqual(await deepPage(byPosition));
      await store.listingOrdersRead();
      expect(await deepPage(store)).toEqual(await deepPage(byPosition));
      expect(orders.pagesFromCopies).toBe(2);
      await store.listingOrdersRead();
    } finally {
      await database.destroy();
      await target.cleanup();
    }
  });
}

describe('category versions migration on SQLite', () => {
  versionMigration(() => {
    const dir = tempDir();
    return { url: `sqlite:${join(dir.path, 'acts.db')}`, cleanup: async () => dir.remove() };
  });
});

describeWith('mysql', 'category versions migration on MySQL', () => {
  versionMigration(() => {
    const scratch = scratchMysqlDatabase('versions');
    return { url: scratch.url, cleanup: () => scratch.drop() };
  });
});
