import { parseActsConfig } from '../shared/config';
import { openDatabase } from '../shared/database';
import { createLogger } from '../../common/log';
import { migrateToLatest } from '../shared/migrate';
import { serve } from '../shared/server';
import { createApp } from './app';
import { actsMigrations } from './migrations';
import type { ActsDatabase } from './schema';
import { SqlActsStore } from './sql-store';
import { httpUserDirectory } from './user-directory';

async function main(): Promise<void> {
  const config = parseActsConfig(process.env);
  const logger = createLogger('acts', config.logLevel);
  const database = await openDatabase<ActsDatabase>(config.databaseUrl, { logger });
  await migrateToLatest(database.db, database.dialect, 'acts', actsMigrations);
  const users = httpUserDirectory({ usersUrl: config.usersUrl, publicOrigin: config.publicOrigin, logger });
  const store = new SqlActsStore(database);
  const app = createApp({
    store,
    users,
    logger,
    logsRequests: config.logLevel === 'debug',
  });
  // A listing order still being read after the last answer ends before its connection does.
  await serve(app, {
    port: config.port,
    logger,
    onClosed: async () => {
      await store.listingOrdersRead();
      await database.destroy();
    },
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`acts service failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
