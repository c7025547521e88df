import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { sql } from 'kysely';
import request from 'supertest';
import type { Express } from 'express';
import { silentLogger } from '../../../common/log';
import { parseNewAct, type Act } from '../../../services/acts/act';
import { createApp as createActsApp } from '../../../services/acts/app';
import { ListingOrderCache } from '../../../services/acts/listing-order-cache';
import { actsMigrations } from '../../../services/acts/migrations';
import { PHOTO_CHUNK_BYTES, readChunkedPhotos } from '../../../services/acts/photo-chunks';
import type { ActsDatabase } from '../../../services/acts/schema';
import { SqlActsStore } from '../../../services/acts/sql-store';
import { httpUserDirectory } from '../../../services/acts/user-directory';
import { openDatabase, type Database } from '../../../services/shared/database';
import { migrateToLatest } from '../../../services/shared/migrate';
import { describeWith } from '../../support/requirements';
import { scratchMysqlDatabase } from '../mysql';
import {
  act,
  openActsDatabase,
  PUBLIC_ORIGIN,
  startUsersStandIn,
  tempDir,
  type UsersStandIn,
} from '../support';

interface Target {
  url: string;
  cleanup(): Promise<void>;
}

/** Deep pages from a very short position on, so the listing order's copy serves most pages. */
const DEEP_PAGES = { deepPosition: 1, maxCachedIds: 10_000, pagesWorthARead: 0, maxMissesBeforeReread: 8 };

/** Photo sizes: one chunk exactly (stays in the row), one byte more, exact and ragged multiples. */
const SIZES = [
  PHOTO_CHUNK_BYTES,
  PHOTO_CHUNK_BYTES + 1,
  2 * PHOTO_CHUNK_BYTES,
  3 * PHOTO_CHUNK_BYTES + 12_345,
  1_000,
  PHOTO_CHUNK_BYTES - 1,
];
/** Photos by digest, so a mismatch reads in a line rather than megabytes. */
const digests = (imgB64s: string[]) => imgB64s.map((b64) => createHash('sha256').update(b64).digest('hex'));

const chunksOf = (bytes: number) => (bytes <= PHOTO_CHUNK_BYTES ? 0 : Math.ceil(bytes / PHOTO_CHUNK_BYTES));

/** Large photos through the API and the store, on one engine. */
function chunkedPhotos(makeTarget: () => Target): void {
  let target: Target;
  let database: Database<ActsDatabase>;
  let store: SqlActsStore;
  let orders: ListingOrderCache;
  let users: UsersStandIn;
  let app: Express;

  beforeAll(async () => {
    target = makeTarget();
    database = await openActsDatabase(target.url);
    orders = new ListingOrderCache(DEEP_PAGES);
    store = new SqlActsStore(database, orders);
    users = await startUsersStandIn(['xyz', 'other']);
    const directory = httpUserDirectory({
      usersUrl: users.url,
      publicOrigin: PUBLIC_ORIGIN,
      logger: silentLogger,
    });
    app = createActsApp({ store, users: directory, logger: silentLogger });
  });
  afterAll(async () => {
    await store?.listingOrdersRead();
    await users?.close();
    await database?.destroy();
    await target.cleanup();
  });

  const chunkRows = async (): Promise<number> => {
    const row = await database.db
      .selectFrom('act_image_chunks')
      .select(({ fn }) => fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };
  const chunksOfAct = async (actId: number): Promise<number> => {
    const row = await database.db
      .selectFrom('act_image_chunks')
      .innerJoin('acts', 'acts.seq', 'act_image_chunks.act_seq')
      .select(({ fn }) => fn.countAll<number | string>().as('n'))
      .where('acts.act_id', '=', actId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };
  const upload = (body: unknown) => request(app).post('/api/v1/acts').type('json').send(JSON.stringify(body));
  const imgB64s = (res: { body: unknown }) =>
    digests((res.body as { imgB64: string }[]).map((a) => a.imgB64));

  test('large photos round-trip byte for byte through POST and every listing, by page and from the copy', async () => {
    await request(app).post('/api/v1/categories').send(['big']).expect(201);
    // Newest first: the last upload leads every listing.
    const photos = SIZES.map((size) => randomBytes(size).toString('base64'));
    for (const [i, imgB64] of photos.entries()) {
      const timestamp = `01-01-2020:0${i}-00-00`;
      await upload(act({ actId: 100 + i, categoryName: 'big', imgB64, timestamp })).expect(201, '{}');
      expect([SIZES[i], await chunksOfAct(100 + i)]).toEqual([SIZES[i], chunksOf(SIZES[i]!)]);
    }
    const newestFirst = digests([...photos].reverse());

    const whole = await request(app).get('/api/v1/categories/big/acts').expect(200);
    expect(imgB64s(whole)).toEqual(newestFirst);
    for (let start = 1; start <= photos.length; start++) {
      const one = await request(app)
        .get(`/api/v1/categories/big/acts?start=${start}&end=${start}`)
        .expect(200);
      expect(imgB64s(one)).toEqual([newestFirst[start - 1]]);
    }
    // Once the order is read, deep pages come from the replica's copy of it.
    await store.listingOrdersRead();
    const fromCopies = orders.pagesFromCopies;
    for (let start = 2; start <= photos.length; start++) {
      const one = await request(app)
        .get(`/api/v1/categories/big/acts?start=${start}&end=${start}`)
        .expect(200);
      expect(imgB64s(one)).toEqual([newestFirst[start - 1]]);
    }
    // All but the first and the last, which are at an end.
    expect(orders.pagesFromCopies - fromCopies).toBe(photos.length - 2);
    const recent = await request(app).get(`/api/v1/acts/recent?start=1&end=${photos.length}`).expect(200);
    expect(imgB64s(recent)).toEqual(newestFirst);
    const mine = await request(app).get('/api/v1/list_act_user/xyz').expect(200);
    expect(imgB64s(mine)).toEqual(newestFirst);
    const far = await request(app).get(`/api/v1/list_act_user/xyz?start=4&end=${photos.length}`).expect(200);
    expect(imgB64s(far)).toEqual(newestFirst.slice(3));
  });

  test('a photo given to the store as text is chunked and read back exactly', async () => {
    const image = randomBytes(2 * PHOTO_CHUNK_BYTES + 7);
    expect(
      await store.createAct(
        parseNewAct(act({ actId: 150, categoryName: 'big', imgB64: image.toString('base64') })),
      ),
    ).toBe('created');
    expect(await chunksOfAct(150)).toBe(3);
    const listed = (await store.listActs('big', 0, 100)).find((a) => a.actId === 150);
    expect(listed?.imgB64 === image.toString('base64')).toBe(true);
  });

  test('a failed upload leaves no chunks: a used id, no such category, a chunk refused midway', async () => {
    const large = randomBytes(3 * PHOTO_CHUNK_BYTES + 1).toString('base64');
    const before = {
      chunks: await chunkRows(),
      acts: await store.countActs(),
      big: await store.countActsInCategory('big'),
    };
    const mine = await store.countUserActs('other');
    expect(await store.createAct(parseNewAct(act({ actId: 100, categoryName: 'big', imgB64: large })))).toBe(
      'duplicate-id',
    );
    expect(await store.createAct(parseNewAct(act({ actId: 200, categoryName: 'none', imgB64: large })))).toBe(
      'no-category',
    );
    expect(await chunkRows()).toBe(before.chunks);

    // The third chunk is refused after the act and two chunks went in.
    await (
      database.dialect === 'mysql'
        ? sql`CREATE TRIGGER refuse_third_chunk BEFORE INSERT ON act_image_chunks FOR EACH ROW
          BEGIN IF NEW.chunk_no = 2 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused'; END IF; END`
        : sql`CREATE TRIGGER refuse_third_chunk BEFORE INSERT ON act_image_chunks WHEN NEW.chunk_no = 2
          BEGIN SELECT RAISE(ABORT, 'refused'); END`
    ).execute(database.db);
    try {
      // Matched by its message, not with toThrow: better-sqlite3's native part keeps the error
      // class of the first test file that loaded it in this worker, and jest's toThrow does not
      // take an error from another file's realm for an error.
      await expect(
        store.createAct(
          parseNewAct(act({ actId: 201, username: 'other', categoryName: 'big', imgB64: large })),
        ),
      ).rejects.toMatchObject({ message: expect.stringMatching(/refused/) });
    } finally {
      await sql`DROP TRIGGER refuse_third_chunk`.execute(database.db);
    }
    expect(await chunkRows()).toBe(before.chunks);
    expect(await store.actExists(201)).toBe(false);
    expect(await store.countActs()).toBe(before.acts);
    expect(await store.countActsInCategory('big')).toBe(before.big);
    expect(await store.countUserActs('other')).toBe(mine);
    // The same upload goes through once nothing refuses it.
    expect(
      await store.createAct(
        parseNewAct(act({ actId: 201, username: 'other', categoryName: 'big', imgB64: large })),
      ),
    ).toBe('created');
    expect(await chunksOfAct(201)).toBe(4);
  });

  test('deleting an act removes its chunks; deleting its category removes those of its acts', async () => {
    await request(app).post('/api/v1/categories').send(['elsewhere']).expect(201);
    const kept = randomBytes(PHOTO_CHUNK_BYTES + 3).toString('base64');
    await upload(act({ actId: 300, categoryName: 'elsewhere', imgB64: kept })).expect(201);
    const total = await chunkRows();
    const ofAct = await chunksOfAct(201);
    expect(ofAct).toBe(4);
    await request(app).delete('/api/v1/acts/201').expect(200, '{}');
    expect(await chunkRows()).toBe(total - ofAct);
    await request(app).delete('/api/v1/categories/big').expect(200, '{}');
    expect(await chunkRows()).toBe(chunksOf(PHOTO_CHUNK_BYTES + 3));
    const left = await request(app).get('/api/v1/categories/elsewhere/acts').expect(200);
    expect(imgB64s(left)).toEqual(digests([kept]));
    await request(app).get('/api/v1/acts/count').expect(200, '[1]');
  });

  test('a page whose chunked act went after its row was read is reported out of date', async () => {
    const rows = await database.db
      .selectFrom('acts')
      .select(['seq', 'image'])
      .where('act_id', '=', 300)
      .execute();
    expect(await readChunkedPhotos(database.db, rows)).toBe(true);
    expect(rows[0]!.image.length).toBe(PHOTO_CHUNK_BYTES + 3);
    const gone = [{ seq: Number.MAX_SAFE_INTEGER, image: Buffer.alloc(0) }];
    expect(await readChunkedPhotos(database.db, gone)).toBe(false);
  });
}

/** A database with photos stored before chunks existed reads them as before, and chunks new ones. */
function chunksMigration(makeTarget: () => Target): void {
  test('photos stored in their rows before the migration stay readable and deletable', async () => {
    const target = makeTarget();
    const database = await openDatabase<ActsDatabase>(target.url, {
      logger: silentLogger,
      connectRetryMs: 0,
    });
    try {
      const before = Object.fromEntries(
        Object.entries(actsMigrations).filter(([name]) => name < '005_act_image_chunks'),
      );
      await migrateToLatest(database.db, database.dialect, 'acts', before);
      await database.db.insertInto('categories').values({ name: 'old' }).execute();
      // One larger than a chunk: stored whole, as every photo was.
      const images = [randomBytes(900), randomBytes(3 * PHOTO_CHUNK_BYTES + 5)];
      for (const [i, image] of images.entries())
        await database.db
          .insertInto('acts')
          .values({
            act_id: i + 1,
            category_name: 'old',
            username: 'xyz',
            taken_at: '10-10-2019:45-23-03',
            sort_time: 1_570_679_145 + i,
            caption: `act ${i + 1}`,
            image,
          })
          .execute();

      await migrateToLatest(database.db, database.dialect, 'acts', actsMigrations);
      const store = new SqlActsStore(database);
      const newestFirst = (photos: Buffer[]) =>
        digests(photos.map((image) => image.toString('base64')).reverse());
      const listed = (acts: Act[]) => digests(acts.map((a) => a.imgB64));
      expect(listed(await store.listActs('old', 0, 10))).toEqual(newestFirst(images));
      expect(listed(await store.listRecentActs(0, 10, 2))).toEqual(newestFirst(images));
      expect(listed(await store.listUserActs('xyz', 0, 10, 2))).toEqual(newestFirst(images));

      const fresh = randomBytes(2 * PHOTO_CHUNK_BYTES + 1);
      expect(
        await store.createAct(
          parseNewAct(
            act({
              actId: 3,
              categoryName: 'old',
              imgB64: fresh.toString('base64'),
              timestamp: '11-10-2019:00-00-00',
            }),
          ),
        ),
      ).toBe('created');
      expect(listed(await store.listActs('old', 0, 10))).toEqual(newestFirst([...images, fresh]));
      expect(await store.deleteAct(2)).toBe(true);
      expect(await store.deleteCategory('old')).toBe(true);
      const left = await database.db.selectFrom('act_image_chunks').select('act_seq').execute();
      expect(left).toEqual([]);
    } finally {
      await database.destroy();
      await target.cleanup();
    }
  });
}

function sqliteTarget(): Target {
  const dir = tempDir();
  return { url: `sqlite:${join(dir.path, 'acts.db')}`, cleanup: async () => dir.remove() };
}

function mysqlTarget(label: string): () => Target {
  return () => {
    const scratch = scratchMysqlDatabase(label);
    return { url: scratch.url, cleanup: () => scratch.drop() };
  };
}

describe('chunked photos on SQLite', () => {
  chunkedPhotos(sqliteTarget);
  chunksMigration(sqliteTarget);
});

describeWith('mysql', 'chunked photos on MySQL', () => {
  chunkedPhotos(mysqlTarget('chunks'));
  chunksMigration(mysqlTarget('chunksmig'));
});
