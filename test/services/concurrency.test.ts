import { join } from 'node:path';
import { describeWith } from '../support/requirements';
import { scratchMysqlDatabase } from './mysql';
import { startService, type ServiceProcess } from './processes';
import { act, PUBLIC_ORIGIN, startUsersStandIn, tempDir, type UsersStandIn } from './support';

jest.setTimeout(60_000);

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

/** Two acts processes on one database: the database, not the process, keeps the data right. */
function sharedDatabaseBehaviour(makeUrl: () => { url: string; cleanup(): Promise<void> }): void {
  let users: UsersStandIn;
  let a: ServiceProcess;
  let b: ServiceProcess;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const target = makeUrl();
    users = await startUsersStandIn(['xyz']);
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
