import { createConnection } from 'mysql2/promise';
import request from 'supertest';
import { createApp } from '../../services/acts/app';
import { SqlActsStore } from '../../services/acts/sql-store';
import { silentLogger } from '../../common/log';
import { describeWith } from '../support/requirements';
import { scratchMysqlDatabase } from './mysql';
import { openActsDatabase } from './support';

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
