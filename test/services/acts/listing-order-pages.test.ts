import { join } from 'node:path';
import { parseNewAct, type Act } from '../../../services/acts/act';
import { ListingOrderCache } from '../../../services/acts/listing-order-cache';
import type { ActsDatabase } from '../../../services/acts/schema';
import { SqlActsStore } from '../../../services/acts/sql-store';
import type { Database } from '../../../services/shared/database';
import { describeWith } from '../../support/requirements';
import { scratchMysqlDatabase } from '../mysql';
import { act, openActsDatabase, tempDir } from '../support';

const ACTS = 300;
/** Small, so a 300-act listing has deep pages; every stale copy is read again at once. */
const LIMITS = { deepPosition: 20, maxCachedIds: 10_000, pagesWorthARead: 0, maxMissesBeforeReread: 8 };
const BY_POSITION = { ...LIMITS, deepPosition: Number.POSITIVE_INFINITY };

interface Replica {
  readonly database: Database<ActsDatabase>;
  readonly store: SqlActsStore;
  readonly orders: ListingOrderCache;
}

/**
 * Pages of a category listing read from a replica's copy of its order are the pages read by
 * position, whatever this or another replica on the same database writes in between.
 */
function listingOrderPages(makeTarget: () => { url: string; cleanup(): Promise<void> }): void {
  let target: { url: string; cleanup(): Promise<void> };
  /** Reads deep pages from its copy. */
  let replica: Replica;
  /** Another replica on the same database, reading every page by position. */
  let other: Replica;
  let nextActId = 1;

  async function openReplica(limits: typeof LIMITS): Promise<Replica> {
    const database = await openActsDatabase(target.url);
    const orders = new ListingOrderCache(limits);
    return { database, store: new SqlActsStore(database, orders), orders };
  }

  beforeAll(async () => {
    target = makeTarget();
    replica = await openReplica(LIMITS);
    other = await openReplica(BY_POSITION);
  });
  afterAll(async () => {
    await replica?.store.listingOrdersRead();
    await replica?.database.destroy();
    await other?.database.destroy();
    await target.cleanup();
  });

  /**
   * `n` acts in one statement; date-times repeat every 7 acts and go back and forth, so the
   * order takes both the date-time and the upload order.
   */
  async function seed(category: string, n: number): Promise<void> {
    const rows = Array.from({ length: n }, (_, i) => ({
      act_id: nextActId++,
      category_name: category,
      username: `u${i % 3}`,
      taken_at: '10-10-2019:45-23-03',
      sort_time: 1_570_679_145 + ((i * 5) % 7),
      caption: `act in ${category}`,
      image: Buffer.from(`photo ${i}`),
    }));
    await replica.database.db.insertInto('acts').values(rows).execute();
  }

  async function upload(store: SqlActsStore, category: string, timestamp: string): Promise<number> {
    const actId = nextActId++;
    expect(await store.createAct(parseNewAct(act({ actId, categoryName: category, timestamp })))).toBe(
      'created',
    );
    return actId;
  }

  /** The page as a request reads it: counted first, then listed. */
  async function page(from: Replica, category: string, offset: number, limit: number): Promise<Act[]> {
    const total = await from.store.countActsInCategory(category);
    return from.store.listActs(category, offset, limit, total);
  }

  /** The page from the copy, after checking it is one: the copy is read first if need be. */
  async function pageFromCopy(category: string, offset: number, limit: number): Promise<Act[]> {
    await page(replica, category, offset, limit);
    await replica.store.listingOrdersRead();
    const before = replica.orders.pagesFromCopies;
    const acts = await page(replica, category, offset, limit);
    expect(replica.orders.pagesFromCopies).toBe(before + 1);
    return acts;
  }

  const ids = (acts: Act[]) => acts.map((a) => a.actId);

  beforeAll(async () => {
    await replica.store.createCategory('big');
    await seed('big', ACTS);
  });

  test('pages from the copy equal pages by position: first, middle and last, of every size', async () => {
    await pageFromCopy('big', 150, 10);
    const before = replica.orders.pagesFromCopies;
    let deep = 0;
    for (const limit of [1, 2, 10, 33, 100])
      for (let offset = 0; offset + limit <= ACTS; offset += limit === 1 ? 1 : 7) {
        const fromReplica = await page(replica, 'big', offset, limit);
        expect([offset, limit, fromReplica]).toEqual([
          offset,
          limit,
          await page(other, 'big', offset, limit),
        ]);
        expect(fromReplica).toHaveLength(limit);
        if (Math.min(offset, ACTS - offset - limit) >= LIMITS.deepPosition) deep++;
      }
    expect(deep).toBeGreaterThan(100);
    expect(replica.orders.pagesFromCopies - before).toBe(deep);
  });

  test('an upload or a delete, through this replica or another, shows in the next page; an upvote keeps the copy', async () => {
    const writes: [string, (store: SqlActsStore) => Promise<unknown>][] = [
      ['upload here', (store) => upload(store, 'big', '01-01-2030:00-00-00')],
      ['upload there', (store) => upload(store, 'big', '01-01-2031:00-00-00')],
      // Older than every other act, so it is the listing's last; positions before it stay.
      ['upload of the oldest', (store) => upload(store, 'big', '01-01-2000:00-00-00')],
      [
        'delete of a newer act',
        async (store) => expect(await store.deleteAct(ids(await page(other, 'big', 3, 1))[0]!)).toBe(true),
      ],
    ];
    for (const [label, write] of writes)
      for (const writer of [replica, other]) {
        const earlier = await pageFromCopy('big', 100, 10);
        await write(writer.store);
        const later = await page(replica, 'big', 100, 10);
        expect([label, later]).toEqual([label, await page(other, 'big', 100, 10)]);
        if (label !== 'upload of the oldest') expect([label, ids(later)]).not.toEqual([label, ids(earlier)]);
      }

    const earlier = await pageFromCopy('big', 100, 10);
    await other.store.upvote(earlier[4]!.actId);
    const fromCopies = replica.orders.pagesFromCopies;
    const later = await page(replica, 'big', 100, 10);
    expect(replica.orders.pagesFromCopies).toBe(fromCopies + 1);
    expect(later[4]!.upvotes).toBe(earlier[4]!.upvotes + 1);
    expect(later).toEqual(await page(other, 'big', 100, 10));
  });

  test('a category deleted and made again under its name, with as many acts, is read anew', async () => {
    await replica.store.createCategory('again');
    await seed('again', 100);
    const earlier = await pageFromCopy('again', 40, 10);
    expect(await other.store.deleteCategory('again')).toBe(true);
    expect(await other.store.createCategory('again')).toBe(true);
    await seed('again', 100);
    const later = await page(replica, 'again', 40, 10);
    expect(later).toEqual(await page(other, 'again', 40, 10));
    expect(ids(later)).not.toEqual(ids(earlier));
    expect(await pageFromCopy('again', 40, 10)).toEqual(later);
  });

  test('while another replica uploads, every page is the listing as it was at some moment during its read', async () => {
    await replica.store.createCategory('race');
    await seed('race', 200);
    await pageFromCopy('race', 100, 10);
    const uploads = 30;
    let started = 0;
    let finished = 0;
    const seen: { offset: number; page: number[]; finishedBefore: number; startedAfter: number }[] = [];
    const writing = (async () => {
      for (let i = 0; i < uploads; i++) {
        started++;
        // Each newer than the last, so each state's listing is the final one less its first few.
        await upload(other.store, 'race', `01-01-2040:${String(i).padStart(2, '0')}-00-00`);
        finished++;
      }
    })();
    const reading = (async () => {
      for (let round = 0; finished < uploads || round < 5; round++) {
        const offset = 60 + ((round * 13) % 80);
        const finishedBefore = finished;
        const acts = await page(replica, 'race', offset, 10);
        seen.push({ offset, page: ids(acts), finishedBefore, startedAfter: started });
      }
    })();
    await Promise.all([writing, reading]);
    const final = ids(await listAll(other, 'race'));
    expect(final).toHaveLength(200 + uploads);
    for (const { offset, page: read, finishedBefore, startedAfter } of seen) {
      const possible = [];
      for (let k = finishedBefore; k <= startedAfter; k++)
        possible.push(final.slice(uploads - k + offset, uploads - k + offset + 10));
      expect(possible).toContainEqual(read);
    }
    expect(seen.length).toBeGreaterThan(5);
  });

  async function listAll(from: Replica, category: string): Promise<Act[]> {
    const total = (await from.store.countActsInCategory(category))!;
    const all: Act[] = [];
    for (let offset = 0; offset < total; offset += 100)
      all.push(...(await from.store.listActs(category, offset, Math.min(100, total - offset), total)));
    return all;
  }
}

describe('deep pages from a copy of the listing order, SQLite', () => {
  listingOrderPages(() => {
    const dir = tempDir();
    return { url: `sqlite:${join(dir.path, 'acts.db')}`, cleanup: async () => dir.remove() };
  });
});

describeWith('mysql', 'deep pages from a copy of the listing order, MySQL', () => {
  listingOrderPages(() => {
    const scratch = scratchMysqlDatabase('pages');
    return { url: scratch.url, cleanup: () => scratch.drop() };
  });
});
