import type { Express } from 'express';
import type { Logger } from '../../common/log';
import { createServiceApp } from '../shared/service-app';
import { usersRoutes, type CredentialGuards } from './routes';
import type { UsersStore } from './store';

export interface UsersAppDeps {
  readonly store: UsersStore;
  readonly logger: Logger;
  readonly healthTimeoutMs?: number;
  readonly bodyLimitBytes?: number;
  /** Sign-in throttle and hashing bound; the defaults suit production. */
  readonly guards?: CredentialGuards;
  /** See ServiceAppOptions.logsRequests. */
  readonly logsRequests?: boolean;
}

export function createApp(deps: UsersAppDeps): Express {
  return createServiceApp({
    routes: usersRoutes(deps.store, deps.guards),
    logger: deps.logger,
    checkDatabase: () => deps.store.checkReadable(),
    healthTimeoutMs: deps.healthTimeoutMs,
    bodyLimitBytes: deps.bodyLimitBytes,
    logsRequests: deps.logsRequests,
  }).app;
}
