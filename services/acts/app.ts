import type { Express } from 'express';
import type { Logger } from '../shared/log';
import { createServiceApp } from '../shared/service-app';
import { actsRoutes } from './routes';
import type { ActsStore } from './store';
import type { UserDirectory } from './user-directory';

export interface ActsAppDeps {
  readonly store: ActsStore;
  readonly users: UserDirectory;
  readonly logger: Logger;
  readonly healthTimeoutMs?: number;
  readonly bodyLimitBytes?: number;
}

export function createApp(deps: ActsAppDeps): Express {
  return createServiceApp({
    routes: actsRoutes(deps.store, deps.users),
    logger: deps.logger,
    checkDatabase: () => deps.store.checkReadable(),
    healthTimeoutMs: deps.healthTimeoutMs,
    bodyLimitBytes: deps.bodyLimitBytes,
  }).app;
}
