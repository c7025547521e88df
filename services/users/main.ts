import { parseUsersConfig } from '../shared/config';
import { openDatabase } from '../shared/database';
import { createLogger } from '../../common/log';
import { migrateToLatest } from '../shared/migrate';
import { serve } from '../shared/server';
import { createUsersService } from './app';
import { usersMigrations } from './migrations';
import type { UsersDatabase } from './schema';
import { SqlUsersStore } from './sql-store';

async function main(): Promise<void> {
  const config = parseUsersConfig(process.env);
  const logger = createLogger('users', config.logLevel);
  const database = await openDatabase<UsersDatabase>(config.databaseUrl, { logger });
  await migrateToLatest(database.db, database.dialect, 'users', usersMigrations);
  const service = createUsersService({
    store: new SqlUsersStore(database.db),
    logger,
    logsRequests: config.logLevel === 'debug',
  });
  await serve(service.app, {
    handle: service.handle,
    port: config.port,
    logger,
    onClosed: () => database.destroy(),
  });
}

main().catch((err: unknown) => {
  process.stderr.write(
    `users service failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
