import http from 'node:http';
import { join } from 'node:path';
import { parseNewAct } from '../../services/acts/act';
import request from 'supertest';
import { silentLogger } from '../../common/log';
import { createApp as createActsApp } from '../../services/acts/app';
import type { ActsDatabase } from '../../services/acts/schema';
import { SqlActsStore } from '../../services/acts/sql-store';
import { httpUserDirectory } from '../../services/acts/user-directory';
import type { Database } from '../../services/shared/database';
import { SqlUsersStore } from '../../services/users/sql-store';
import { describeWith } from '../support/requirements';
import { scratchMysqlDatabase } from './mysql';
import { act, openActsDatabase, openUsersDatabase, PUBLIC_ORIGIN, tempDir } from './support';

interface Target {
  url: string;
  cleanup(): Promise<void>;
}

/** The same behaviour, asked of every engine. Both services share one database here, as they may. */
function storeBehaviour(makeTarget: () => Target): void {
  let target: Target;
  let acts: SqlActsStore;
  let actsDatabase: Database<ActsDatabase>;
  let users: SqlUsersStore;
  let closeAll: () => Promise<void>;

  beforeAll(async () => {
    target = makeTarget();
    const actsDb = await openActsDatabase(target.url);
    const usersDb = await openUsersDatabase(target.url);
    // Running migrations again at start is harmless (every replica does it).
    await openActsDatabase(target.url).then((d) => d.destroy());
    acts = new SqlActsStore(actsDb);
    actsDatabase = actsDb;
    users = new SqlUsersStore(usersDb.db);
    closeAll = async () => {
      await actsDb.destroy();
      await usersDb.destroy();
      await target.cleanup();
    };
  });
  afterAll(async () => {
    await closeAll();
  });

  describe('users', () => {
    test('usernames are unique, compared exactly: case and trailing spaces matter', async () => {
      expect(await users.createUser('bob', 'h1')).toBe(true);
      expect(await users.createUser('bob', 'h2')).toBe(false);
      expect(await users.createUser('Bob', 'h3')).toBe(true);
      expect(await users.createUser('bob ', 'h4')).toBe(true);
      expect(await users.createUser('böb 🐱', 'h5')).toBe(true);
      expect(await users.listUsernames()).toEqual(['bob', 'Bob', 'bob ', 'böb 🐱']);
      expect(await users.getPasswordHash('bob')).toBe('h1');
      expect(await users.getPasswordHash('BOB')).toBeUndefined();
    });

    test('delete removes exactly one name', async () => {
      expect(await users.deleteUser('bob ')).toBe(true);
      expect(await users.deleteUser('bob ')).toBe(false);
      expect(await users.listUsernames()).toEqual(['bob', 'Bob', 'böb 🐱']);
    });

    test('checkReadable resolves', async () => {
      await expect(users.checkReadable()).resolves.toBeUndefined();
    });
  });

  describe('acts', () => {
    test('categories: unique by exact name, listed in creation order with act counts', async () => {
      expect(await acts.createCategory('cats')).toBe(true);
      expect(await acts.createCategory('cats')).toBe(false);
      expect(await acts.createCategory('cats ')).toBe(true);
      expect(await acts.createCategory('Cats')).toBe(true);
      expect(await acts.categoryExists('cats')).toBe(true);
      expect(await acts.categoryExists('CATS')).toBe(false);
      expect(await acts.createAct(parseNewAct(act({ actId: 1, categoryName: 'cats' })))).toBe('created');
      expect(await acts.listCategories()).toEqual([
        { name: 'cats', actCount: 1 },
        { name: 'cats ', actCount: 0 },
        { name: 'Cats', actCount: 0 },
      ]);
      expect(await acts.countActsInCategory('cats')).toBe(1);
      expect(await acts.countActsInCategory('cats ')).toBe(0);
      expect(await acts.countActsInCategory('nope')).toBeUndefined();
    });

    // On SQLite the categories are read at once, with no promise in between, except while a
    // transaction holds the connection: the answer is the same bytes either way, and never
    // shows a write that is not committed.
    test('GET /api/v1/categories: exact bytes, also beside a transaction that is rolled back', async () => {
      const app = createActsApp({
        store: acts,
        users: httpUserDirectory({
          usersUrl: 'http://127.0.0.1:1',
          publicOrigin: PUBLIC_ORIGIN,
          logger: silentLogger,
        }),
        logger: silentLogger,
      });
      const expected = '{"cats":1,"cats ":0,"Cats":0}';
      // The transaction below stays open until the request has reached the app.
      let arrived = () => {};
      const reached = new Promise<void>((resolve) => (arrived = resolve));
      const server = http.createServer((req, res) => {
        arrived();
        app(req, res);
      });
      const get = async () => {
        const res = await request(server).get('/api/v1/categories');
        return [res.status, res.headers['content-type'], res.headers['content-length'], res.text];
      };
      const answer = [200, 'application/json; charset=utf-8', String(expected.length), expected];
      const head = await request(app).head('/api/v1/categories');
      expect([head.status, head.headers['content-length'], head.text]).toEqual([
        200,
        String(expected.length),
        undefined,
      ]);
      let during: Promise<unknown[]> | undefined;
      await expect(
        actsDatabase.db.transaction().execute(async (trx) => {
          await trx.insertInto('categories').values({ name: 'uncommitted' }).execute();
          during = get();
          await reached;
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(await during).toEqual(answer);
      expect(await get()).toEqual(answer);
    });

    test('the database refuses a reused actId and a missing category', async () => {
      expect(await acts.createAct(parseNewAct(act({ actId: 1, categoryName: 'Cats' })))).toBe('duplicate-id');
      expect(await acts.createAct(parseNewAct(act({ actId: 2, categoryName: 'nope' })))).toBe('no-category');
      expect(await acts.actExists(1)).toBe(true);
      expect(await acts.actExists(2)).toBe(false);
    });

    test('fields come back exactly: large ids, unicode captions, binary images', async () => {
      const image = Buffer.from([0, 255, 1, 254, 0, 0, 10, 13, 0x80]);
      const caption = 'emoji 🐱, accents é, quotes "\' and a\nnewline';
      const id = Number.MAX_SAFE_INTEGER;
      expect(
        await acts.createAct(
          parseNewAct(
            act({
              actId: id,
              categoryName: 'Cats',
              caption,
              username: 'ü 🐱',
              imgB64: image.toString('base64'),
            }),
          ),
        ),
      ).toBe('created');
      expect(await acts.listActs('Cats', 0, 10)).toEqual([
        {
          actId: id,
          username: 'ü 🐱',
          timestamp: '10-10-2019:45-23-03',
          caption,
          upvotes: 0,
          categoryName: 'Cats',
          imgB64: image.toString('base64'),
        },
      ]);
    });

    test('listing: newest date-time first, then most recently uploaded; offset and limit are positions', async () => {
      await acts.createCategory('order');
      const uploads: [number, string][] = [
        [10, '01-01-2019:00-00-00'],
        [11, '31-12-2018:59-59-23'],
        [12, '01-01-2019:00-00-00'],
        [13, '02-01-2019:00-00-00'],
        [14, '01-01-2019:00-00-00'],
      ];
      for (const [actId, timestamp] of uploads) {
        expect(await acts.createAct(parseNewAct(act({ actId, timestamp, categoryName: 'order' })))).toBe(
          'created',
        );
      }
      const ids = async (offset: number, limit: number) =>
        (await acts.listActs('order', offset, limit)).map((a) => a.actId);
      expect(await ids(0, 10)).toEqual([13, 14, 12, 10, 11]);
      expect(await ids(1, 2)).toEqual([14, 12]);
      expect(await ids(4, 5)).toEqual([11]);
    });

    test('upvotes add one in the database, also when many arrive at once', async () => {
      expect(await acts.upvote(10)).toBe(true);
      expect(await acts.upvote(999_999)).toBe(false);
      await Promise.all(Array.from({ length: 40 }, () => acts.upvote(10)));
      const listed = await acts.listActs('order', 0, 10);
      expect(listed.find((a) => a.actId === 10)?.upvotes).toBe(41);
    });

    test('deleting an act and counting', async () => {
      const before = await acts.countActs();
      expect(await acts.deleteAct(11)).toBe(true);
      expect(await acts.deleteAct(11)).toBe(false);
      expect(await acts.countActs()).toBe(before - 1);
    });

    test('deleting a category deletes its acts and frees their ids', async () => {
      const before = await acts.countActs();
      expect(await acts.deleteCategory('order')).toBe(true);
      expect(await acts.deleteCategory('order')).toBe(false);
      expect(await acts.countActs()).toBe(before - 4);
      expect(await acts.actExists(10)).toBe(false);
      expect(await acts.createAct(parseNewAct(act({ actId: 10, categoryName: 'cats' })))).toBe('created');
    });

    test('a photo larger than 16 MB is stored and read back', async () => {
      const image = Buffer.alloc(17 * 1024 * 1024, 7);
      expect(
        await acts.createAct(
          parseNewAct(act({ actId: 500, categoryName: 'cats ', imgB64: image.toString('base64') })),
        ),
      ).toBe('created');
      const [listed] = await acts.listActs('cats ', 0, 1);
      expect(listed!.imgB64 === image.toString('base64')).toBe(true);
    });

    test('photos with every byte value and every padding length are stored exactly', async () => {
      expect(await acts.createCategory('bytes')).toBe(true);
      const images = [3000, 3001, 3002].map((length) =>
        Buffer.from(Array.from({ length }, (_, i) => (i * 7 + length) % 256)).toString('base64'),
      );
      expect(images.map((b64) => b64.split('=').length - 1)).toEqual([0, 2, 1]);
      for (const [i, imgB64] of images.entries()) {
        const timestamp = `01-01-2020:0${i}-00-00`;
        const created = await acts.createAct(
          parseNewAct(act({ actId: 600 + i, categoryName: 'bytes', imgB64, timestamp })),
        );
        expect(created).toBe('created');
      }
      const listed = await acts.listActs('bytes', 0, 3);
      expect(listed.map((a) => a.imgB64)).toEqual([...images].reverse());
    });

    test('checkReadable resolves', async () => {
      await expect(acts.checkReadable()).resolves.toBeUndefined();
    });

    test('checkWritable resolves, and each call writes the heartbeat row', async () => {
      await expect(acts.checkWritable()).resolves.toBeUndefined();
      await expect(acts.checkWritable()).resolves.toBeUndefined();
    });

    test('a user listing and the recent feed: newest first, equal timestamps by upload, the far end read in the same order', async () => {
      expect(await acts.createCategory('feed-x')).toBe(true);
      expect(await acts.createCategory('feed-y')).toBe(true);
      const before = await acts.countActs();
      for (let i = 0; i < 30; i++) {
        const created = await acts.createAct(
          parseNewAct(
            act({
              actId: 9000 + i,
              username: i % 3 === 0 ? 'feeder' : 'other',
              categoryName: i % 2 === 0 ? 'feed-x' : 'feed-y',
              // Far in the future, so these are the newest acts; pairs share a timestamp.
              timestamp: `01-01-2099:00-${String(Math.floor(i / 2)).padStart(2, '0')}-00`,
            }),
          ),
        );
        expect(created).toBe('created');
      }
      const total = await acts.countActs();
      expect(total).toBe(before + 30);
      const newestFirst = Array.from({ length: 30 }, (_, i) => 9029 - i);
      expect((await acts.listRecentActs(0, 30, total)).map((a) => a.actId)).toEqual(newestFirst);
      // The same positions asked near the oldest end come back in the same order.
      const all = [];
      for (let offset = 0; offset < total; offset += 7)
        all.push(...(await acts.listRecentActs(offset, 7, total)));
      expect(all.slice(0, 30).map((a) => a.actId)).toEqual(newestFirst);
      expect(all).toHaveLength(total);
      expect(new Set(all.map((a) => a.actId)).size).toBe(total);

      const feeder = newestFirst.filter((id) => (id - 9000) % 3 === 0);
      expect(await acts.countUserActs('feeder')).toBe(feeder.length);
      expect((await acts.listUserActs('feeder', 0, 100, feeder.length)).map((a) => a.actId)).toEqual(feeder);
      expect((await acts.listUserActs('feeder', 8, 2, feeder.length)).map((a) => a.actId)).toEqual(
        feeder.slice(8),
      );
      expect(await acts.countUserActs('Feeder')).toBe(0);

      expect(await acts.countActsInCategory('feed-x')).toBe(15);
      expect(await acts.deleteAct(9000)).toBe(true);
      expect(await acts.countActsInCategory('feed-x')).toBe(14);
      expect(await acts.deleteCategory('feed-y')).toBe(true);
      expect(await acts.countActs()).toBe(before + 14);
      expect(await acts.countUserActs('feeder')).toBe(
        feeder.length - 1 - feeder.filter((id) => id % 2 === 1).length,
      );
    });
  });
}

describe('stores on SQLite', () => {
  storeBehaviour(() => {
    const dir = tempDir();
    return {
      url: `sqlite:${join(dir.path, 'nested', 'dir', 'shared.db')}`,
      cleanup: async () => dir.remove(),
    };
  });
});

describeWith('mysql', 'stores on MySQL', () => {
  storeBehaviour(() => {
    const scratch = scratchMysqlDatabase('store');
    return { url: scratch.url, cleanup: () => scratch.drop() };
  });
});
