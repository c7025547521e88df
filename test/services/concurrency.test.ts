import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { sql } from 'kysely';
import { PHOTO_CHUNK_BYTES } from '../../services/acts/photo-chunks';
import { describeWith } from '../support/requirements';
import { scratchMysqlDatabase } from './mysql';
import { startService, type ServiceProcess } from './processes';
import { asText } from '../../services/shared/sql-values';
import {
  act,
  openActsDatabase,
  PUBLIC_ORIGIN,
  startUsersStandIn,
  tempDir,
  type UsersStandIn,
} from './support';

// The race below pushes 160 uploads (20 of them photos stored as three chunks) through two
// processes: on a machine busy with other work it has taken over a minute.
jest.setTimeout(120_000);

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

/** The racing uploads' users: each category's acts belong to several of them. */
const UPLOADERS = ['u0', 'u1', 'u2'];

/** Stored as three chunks: every eighth racing upload carries it. */
const LARGE_PHOTO = randomBytes(2 * PHOTO_CHUNK_BYTES + 100).toString('base64');

/** Two acts processes on one database: the database, not the process, keeps the data right. */
function sharedDatabaseBehaviour(makeUrl: () => { url: string; cleanup(): Promise<void> }): void {
  let users: UsersStandIn;
  let a: ServiceProcess;
  let b: ServiceProcess;
  let cleanup: () => Promise<void>;
  let databaseUrl: string;

  beforeAll(async () => {
    const target = makeUrl();
    databaseUrl = target.url;
    users = await startUsersStandIn(['xyz', ...UPLOADERS]);
    const env = { DATABASE_URL: target.url, USERS_URL: users.url, PUBLIC_ORIGIN, LOG_LEVEL: 'warn' };
    // Started together: both run the migrations against one fresh database.
    [a, b] = await Promise.all([startService('acts', env), startService('acts', env)]);
    cleanup = target.cleanup;
    expect((await call(a.url, 'POST', '/api/v1/categories', ['abc'])).status).toBe(201);
  });

  afterAll(async () => {
    expect(await Promise.all([a?.stop(), b?.stop()])).toEqual([0, 0]);
    await users?.close();
    await cleanup?.();
  });

  test('parallel uploads of one actId through both processes: exactly one 201, the rest 400', async () => {
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        call(i % 2 === 0 ? a.url : b.url, 'POST', '/api/v1/acts', act({ actId: 42, caption: `try ${i}` })),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(23);
    expect(await call(b.url, 'GET', '/api/v1/acts/count')).toEqual({ status: 200, text: '[1]' });
  });

  test('100 parallel upvotes through both processes count 100', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        call(i % 2 === 0 ? a.url : b.url, 'POST', '/api/v1/acts/upvote', [42]),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const listing = await call(a.url, 'GET', '/api/v1/categories/abc/acts');
    expect(JSON.parse(listing.text)[0].upvotes).toBe(100);
  });

  test('uploads, act deletes and category deletes racing through both processes leave every count equal to a recount', async () => {
    const categories = ['c1', 'c2', 'c3', 'c4'];
    for (const name of categories)
      expect((await call(a.url, 'POST', '/api/v1/categories', [name])).status).toBe(201);
    const via = (i: number) => (i % 2 === 0 ? a.url : b.url);
    const answered: number[] = [];
    // At most 24 requests in flight: enough to race, few enough that a loaded machine
    // answers them before its connection timeouts.
    let inFlight = 0;
    const waiting: (() => void)[] = [];
    const tracked = async (...args: Parameters<typeof call>) => {
      if (inFlight >= 24) await new Promise<void>((go) => waiting.push(go));
      inFlight++;
      try {
        const r = await call(...args);
        answered.push(r.status);
        return r;
      } finally {
        inFlight--;
        waiting.shift()?.();
      }
    };
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 160; i++) {
      const actId = 10_000 + i;
      work.push(
        tracked(
          via(i),
          'POST',
          '/api/v1/acts',
          act({
            actId,
            categoryName: categories[i % 4],
            username: UPLOADERS[i % 3],
            ...(i % 8 === 0 ? { imgB64: LARGE_PHOTO } : {}),
          }),
        ).then(async (r) => {
          // Every third act is deleted again at once, racing the other uploads.
          if (r.status === 201 && i % 3 === 0) await tracked(via(i + 1), 'DELETE', `/api/v1/acts/${actId}`);
        }),
      );
      // One category goes while its uploads are in flight; duplicates of an id race too.
      if (i === 80) work.push(tracked(via(i), 'DELETE', '/api/v1/categories/c2'));
      if (i % 10 === 0)
        work.push(
          tracked(
            via(i + 1),
            'POST',
            '/api/v1/acts',
            act({ actId, categoryName: 'c3', username: UPLOADERS[(i + 1) % 3] }),
          ),
        );
    }
    const statuses = await Promise.all(
      work.map((p) =>
        p.then(
          () => 'ok',
          (err: Error) => err.message,
        ),
      ),
    );
    expect(statuses.filter((s) => s !== 'ok')).toEqual([]);
    // Refusals (a taken id, a category gone) are 400s; nothing failed inside.
    const failed = answered.filter((status) => status >= 500);
    if (failed.length > 0)
      throw new Error(
        `${failed.length} requests failed inside:\n${a.output().slice(-2000)}\n${b.output().slice(-2000)}`,
      );

    const database = await openActsDatabase(databaseUrl);
    try {
      const recount = await database.db
        .selectFrom('categories as c')
        .leftJoin('acts as x', 'x.category_name', 'c.name')
        .select(({ fn }) => ['c.name', 'c.act_count', fn.count('x.seq').as('recount')])
        .groupBy(['c.seq', 'c.name', 'c.act_count'])
        .orderBy('c.seq')
        .execute();
      const rows = recount.map((r) => [asText(r.name), Number(r.act_count), Number(r.recount)]);
      expect(rows.map(([name]) => name)).toEqual(['abc', 'c1', 'c3', 'c4']);
      for (const [, kept, counted] of rows) expect(kept).toBe(counted);
      const total = await database.db
        .selectFrom('acts')
        .select(({ fn }) => fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      expect(await call(b.url, 'GET', '/api/v1/acts/count')).toEqual({
        status: 200,
        text: `[${Number(total.n)}]`,
      });
      const listed = JSON.parse((await call(a.url, 'GET', '/api/v1/categories')).text) as Record<
        string,
        number
      >;
      expect(Object.entries(listed)).toEqual(rows.map(([name, , counted]) => [name, counted]));

      // Every chunked photo left has all its chunks, and no other chunk is left.
      const chunked = await database.db
        .selectFrom('acts')
        .select('seq')
        .where(sql<number>`length(image)`, '=', 0)
        .execute();
      expect(chunked.length).toBeGreaterThan(0);
      const chunks = await database.db
        .selectFrom('act_image_chunks')
        .select(({ fn }) => ['act_seq', fn.countAll().as('n')])
        .groupBy('act_seq')
        .execute();
      expect(chunks.map((c) => [Number(c.act_seq), Number(c.n)]).sort(([x], [y]) => x! - y!)).toEqual(
        chunked.map((c) => [Number(c.seq), 3]).sort(([x], [y]) => x! - y!),
      );
      const photos: string[] = [];
      for (let start = 1; start <= Number(total.n); start += 100) {
        const end = Math.min(start + 99, Number(total.n));
        const page = await call(a.url, 'GET', `/api/v1/acts/recent?start=${start}&end=${end}`);
        photos.push(...(JSON.parse(page.text) as { imgB64: string }[]).map((x) => x.imgB64));
      }
      expect(photos.filter((p) => p === LARGE_PHOTO)).toHaveLength(chunked.length);

      // Every kept per-user count (rows left at 0 included) against a recount of the acts.
      const kept = await database.db
        .selectFrom('user_act_counts')
        .select(['username', 'act_count'])
        .execute();
      const perUser = await database.db
        .selectFrom('acts')
        .select(({ fn }) => ['username', fn.countAll().as('n')])
        .groupBy('username')
        .execute();
      const recounted = new Map(perUser.map((r) => [asText(r.username), Number(r.n)]));
      const keptByName = new Map(kept.map((r) => [asText(r.username), Number(r.act_count)]));
      expect(recounted.get('u1')).toBeGreaterThan(0);
      for (const name of new Set([...recounted.keys(), ...keptByName.keys()]))
        expect([name, keptByName.get(name) ?? 0]).toEqual([name, recounted.get(name) ?? 0]);
      // The listings answer from the kept counts: u0's acts are each deleted again at once,
      // so u0 may be left with none (204), the others are not.
      for (const name of UPLOADERS) {
        const count = recounted.get(name) ?? 0;
        const first = await call(a.url, 'GET', `/api/v1/list_act_user/${name}?start=1&end=1`);
        expect([name, first.status]).toEqual([name, count === 0 ? 204 : 200]);
        if (count === 0) continue;
        const last = await call(b.url, 'GET', `/api/v1/list_act_user/${name}?start=${count}&end=${count}`);
        expect(last.status).toBe(200);
        const past = await call(b.url, 'GET', `/api/v1/list_act_user/${name}?start=1&end=${count + 1}`);
        expect(past.status).toBe(400);
      }
    } finally {
      await database.destroy();
    }
  });

  test('each process keeps its own request count', async () => {
    await call(a.url, 'DELETE', '/api/v1/_count');
    await call(b.url, 'DELETE', '/api/v1/_count');
    await call(a.url, 'GET', '/api/v1/categories');
    await call(a.url, 'GET', '/api/v1/categories');
    await call(b.url, 'GET', '/api/v1/categories');
    expect((await call(a.url, 'GET', '/api/v1/_count')).text).toBe('[2]');
    expect((await call(b.url, 'GET', '/api/v1/_count')).text).toBe('[1]');
  });
}

describe('two acts processes on one SQLite file', () => {
  sharedDatabaseBehaviour(() => {
    const dir = tempDir();
    return { url: `sqlite:${join(dir.path, 'acts.db')}`, cleanup: async () => dir.remove() };
  });
});

describeWith('mysql', 'two acts processes on one MySQL database', () => {
  sharedDatabaseBehaviour(() => {
    const scratch = scratchMysqlDatabase('concurrency');
    return { url: scratch.url, cleanup: () => scratch.drop() };
  });
});
