import { createConnection } from 'mysql2/promise';
import request from 'supertest';
import { createApp } from '../../services/acts/app';
import { DEFAULT_DEADLINES_MS } from '../../services/shared/mysql-deadlines';
import { HEALTH_DATABASE_TIMEOUT_MS } from '../../services/shared/ops';
import { createApp as createUsersApp } from '../../services/users/app';
import { SqlUsersStore } from '../../services/users/sql-store';
import { Mariadb, mariadbAvailable } from '../orchestrator/mariadb';
import { SqlActsStore } from '../../services/acts/sql-store';
import { silentLogger } from '../../common/log';
import { describeWith } from '../support/requirements';
import { scratchMysqlDatabase } from './mysql';
import { openActsDatabase, openUsersDatabase, PASSWORD } from './support';

describeWith('mysql', 'acts health on MySQL', () => {
  test('503 while the database cannot answer a read in time (a replacement would not help), 200 again once it can', async () => {
    const scratch = scratchMysqlDatabase('health');
    const database = await openActsDatabase(scratch.url);
    const locker = await createConnection({ uri: scratch.url });
    try {
      const app = createApp({
        store: new SqlActsStore(database),
        users: { exists: async () => false },
        logger: silentLogger,
        healthTimeoutMs: 300,
      });
      await request(app).get('/api/v1/_health').expect(200, '');
      await locker.query('LOCK TABLES categories WRITE');
      await request(app).get('/api/v1/_health').expect(503);
      await locker.query('UNLOCK TABLES');
      await request(app).get('/api/v1/_health').expect(200, '');
    } finally {
      await locker.end();
      await database.destroy();
      await scratch.drop();
    }
  });
});

(mariadbAvailable || process.env.REQUIRE_MYSQL === '1' ? describe : describe.skip)(
  'users on a hung MySQL server (a private MariaDB, paused)',
  () => {
    jest.setTimeout(60_000);
    let server: Mariadb | undefined;
    afterAll(() => server?.remove());

    test('_health and requests answer 503 within their deadlines while nothing answers, and serve again once it does', async () => {
      server = await Mariadb.install();
      await server.start();
      const database = await openUsersDatabase(server.url('users_hung'));
      try {
        const app = createUsersApp({ store: new SqlUsersStore(database.db), logger: silentLogger });
        await request(app).post('/api/v1/users').send({ username: 'alice', password: PASSWORD }).expect(201);
        await request(app).get('/api/v1/users').expect(200);

        await server.pause();
        let started = Date.now();
        await request(app).get('/api/v1/_health').expect(503);
        // Its own deadline ended the check (generous bounds: they only tell a deadline from a hang).
        expect(Date.now() - started).toBeLessThan(HEALTH_DATABASE_TIMEOUT_MS + 1_500);
        // A statement on an open connection, then a fresh connection: both bounded, both 503.
        for (let i = 0; i < 3; i++) {
          started = Date.now();
          const answer = await request(app).get('/api/v1/users').expect(503);
          expect(answer.headers['retry-after']).toBeDefined();
          expect(Date.now() - started).toBeLessThan(
            DEFAULT_DEADLINES_MS.acquire + DEFAULT_DEADLINES_MS.statement + 2_000,
          );
        }

        server.resume();
        await request(app).get('/api/v1/_health').expect(200);
        const listed = await request(app).get('/api/v1/users').expect(200);
        expect(listed.body).toEqual(['alice']);
      } finally {
        server.resume();
        await database.destroy();
      }
    });
  },
);
