import type { Express } from 'express';
import type { Logger } from '../../common/log';
import { createServiceApp } from '../shared/service-app';
import { actsRoutes } from './routes';
import type { ActsStore } from './store';
import type { UserDirectory } from './user-directory';

export interface ActsAppDeps {
  readonly store: ActsStore;
  readonly users: UserDirectory;
  readonly logger: Logger;
  readonly healthTimeoutMs?: number;
  readonly heapLimitFraction?: number;
  readonly bodyLimitBytes?: number;
  /** See ServiceAppOptions.logsRequests. */
  readonly logsRequests?: boolean;
}

export function createApp(deps: ActsAppDeps): Express {
  return createServiceApp({
    routes: actsRoutes(deps.store, deps.users),
    logger: deps.logger,
    checkDatabase: async () => {
      await deps.store.checkReadable();
      await deps.store.checkWritable();
    },
    healthTimeoutMs: deps.healthTimeoutMs,
    heapLimitFraction: deps.heapLimitFraction,
    bodyLimitBytes: deps.bodyLimitBytes,
    logsRequests: deps.logsRequests,
  }).app;
}
