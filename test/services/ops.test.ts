import BetterSqlite3 from 'better-sqlite3';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import request from 'supertest';
import { createServiceApp } from '../../services/shared/service-app';
import { silentLogger } from '../../common/log';
import { freePort } from '../support/requirements';
import { act, actsHarness, usersHarness, type ActsHarness } from './support';

describe('acts: request counter', () => {
  let h: ActsHarness;
  beforeEach(async () => {
    h = await actsHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  test('counts every API request whatever the method or outcome (the feeds included), not _count/_health/_crash', async () => {
    await request(h.app).get('/api/v1/_count').expect(200, '[0]');
    await request(h.app).post('/api/v1/categories').send(['abc']).expect(201); // 1
    await request(h.app).post('/api/v1/acts').send(act()).expect(201); // 2
    await request(h.app).get('/api/v1/acts/999').expect(405); // 3
    await request(h.app).delete('/api/v1/categories/nope').expect(400); // 4
    await request(h.app).post('/api/v1/acts').type('json').send('{oops').expect(400); // 5
    await request(h.app).get('/api/v1/acts/recent?start=1&end=1').expect(200); // 6
    await request(h.app).get('/api/v1/list_act_user/xyz').expect(200); // 7
    await request(h.app).delete('/api/v1/acts/recent').expect(405); // 8
    await request(h.app).get('/api/v1/list_act_user/').expect(400); // 9
    await request(h.app).get('/api/v1/_health').expect(200);
    await request(h.app).put('/api/v1/_count').expect(405);
    await request(h.app).get('/api/v1/_count').expect(200, '[9]');
  });

  test('DELETE /_count resets to zero', async () => {
    await request(h.app).get('/api/v1/categories');
    await request(h.app).get('/api/v1/categories');
    await request(h.app).delete('/api/v1/_count').expect(200, '{}');
    await request(h.app).get('/api/v1/_count').expect(200, '[0]');
  });

  test('is per app instance (per process), never shared through the database', async () => {
    const other = await actsHarness();
    try {
      await request(h.app).get('/api/v1/categories');
      await request(other.app).get('/api/v1/_count').expect(200, '[0]');
      await request(h.app).get('/api/v1/_count').expect(200, '[1]');
    } finally {
      await other.close();
    }
  });
});

describe('acts: health', () => {
  let h: ActsHarness;
  beforeEach(async () => {
    h = await actsHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  test('200 with an empty body when the database reads; 500 when it cannot; 200 again once it can', async () => {
    const ok = await request(h.app).get('/api/v1/_health');
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('');

    // Another connection makes the table unreadable, then puts it back.
    const other = new BetterSqlite3(join(h.dir.path, 'data', 'acts.db'));
    try {
      other.pragma('foreign_keys = OFF');
      other.exec('ALTER TABLE categories RENAME TO categories_away');
      await request(h.app).get('/api/v1/_health').expect(500);
      other.exec('ALTER TABLE categories_away RENAME TO categories');
      await request(h.app).get('/api/v1/_health').expect(200, '');
    } finally {
      other.close();
    }
  });

  test('each probe writes the heartbeat row', async () => {
    const beats = async () =>
      (await h.database.db.selectFrom('acts_heartbeat').select('beats').executeTakeFirstOrThrow()).beats;
    const before = Number(await beats());
    await request(h.app).get('/api/v1/_health').expect(200, '');
    await request(h.app).get('/api/v1/_health').expect(200, '');
    expect(Number(await beats())).toBe(before + 2);
  });

  test('a write lock held by another process does not make the probe wait: 200 at once', async () => {
    const other = new BetterSqlite3(join(h.dir.path, 'data', 'acts.db'));
    try {
      other.exec('BEGIN IMMEDIATE');
      await request(h.app).get('/api/v1/_health').expect(200, '');
      other.exec('ROLLBACK');
    } finally {
      other.close();
    }
  });

  test('500 when the heap is past the share of its limit that health allows', async () => {
    const strict = await actsHarness({ heapLimitFraction: 0.0001 });
    try {
      await request(strict.app).get('/api/v1/_health').expect(500, '{}');
      // Only the probe says so: requests are still served.
      await request(strict.app).get('/api/v1/categories').expect(204);
    } finally {
      await strict.close();
    }
  });

  test('500 when the database has been closed', async () => {
    await h.database.db.destroy();
    await request(h.app).get('/api/v1/_health').expect(500);
  });

  test('503 (not 500) when the database cannot be reached at all: nothing listens on its port', async () => {
    const port = await freePort();
    const { app } = createServiceApp({
      routes: [],
      logger: silentLogger,
      checkDatabase: async () => {
        const connection = await createConnection({ host: '127.0.0.1', port, user: 'root' });
        await connection.end();
      },
    });
    await request(app).get('/api/v1/_health').expect(503, '{}');
  });
});

describe('crash', () => {
  test('acts: _crash answers 200 empty, then every request on every route is 500', async () => {
    const h = await actsHarness();
    try {
      await request(h.app).post('/api/v1/categories').send(['abc']).expect(201);
      const crash = await request(h.app).post('/api/v1/_crash');
      expect(crash.status).toBe(200);
      expect(crash.text).toBe('');
      for (const [method, path] of [
        ['get', '/api/v1/_health'],
        ['get', '/api/v1/_count'],
        ['post', '/api/v1/_crash'],
        ['get', '/api/v1/categories'],
        ['delete', '/api/v1/acts/upvote'],
        ['get', '/nowhere'],
        ['options', '/api/v1/acts'],
      ] as const) {
        await request(h.app)[method](path).expect(500);
      }
    } finally {
      await h.close();
    }
  });

  test('the flag belongs to one app instance', async () => {
    const a = await actsHarness();
    const b = await actsHarness();
    try {
      await request(a.app).post('/api/v1/_crash').expect(200);
      await request(b.app).get('/api/v1/_health').expect(200);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('users: same counter, health and crash semantics', async () => {
    const h = await usersHarness();
    try {
      await request(h.app).get('/api/v1/users').expect(204);
      await request(h.app).put('/api/v1/users').expect(405);
      await request(h.app).get('/api/v1/_health').expect(200, '');
      await request(h.app).get('/api/v1/_count').expect(200, '[2]');
      await request(h.app).post('/api/v1/_crash').expect(200, '');
      await request(h.app).get('/api/v1/_health').expect(500);
      await request(h.app).get('/api/v1/users').expect(500);
    } finally {
      await h.close();
    }
  });
});
