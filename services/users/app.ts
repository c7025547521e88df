import type { Express } from 'express';
import type { RequestListener } from 'node:http';
import type { Logger } from '../../common/log';
import { createServiceApp } from '../shared/service-app';
import { shedWhenHashingFull } from './early-shed';
import { defaultCredentialGuards, usersRoutes, type CredentialGuards } from './routes';
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

export interface UsersService {
  /** The express app alone (in-process tests call it); it sheds too, only later. */
  readonly app: Express;
  /** What the server runs: `app` behind the early shed of sign-ins and registrations. */
  readonly handle: RequestListener;
}

export function createUsersService(deps: UsersAppDeps): UsersService {
  const guards = deps.guards ?? defaultCredentialGuards();
  const { app, ops } = createServiceApp({
    routes: usersRoutes(deps.store, guards),
    logger: deps.logger,
    checkDatabase: () => deps.store.checkReadable(),
    healthTimeoutMs: deps.healthTimeoutMs,
    bodyLimitBytes: deps.bodyLimitBytes,
    logsRequests: deps.logsRequests,
  });
  return { app, handle: shedWhenHashingFull(app, guards.hashing, ops) };
}

export function createApp(deps: UsersAppDeps): Express {
  return createUsersService(deps).app;
}
