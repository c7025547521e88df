/** Real parts for the services' tests: SQLite stores in temp dirs, a users service stand-in on port 0. */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Express } from 'express';
import { createApp as createActsApp } from '../../services/acts/app';
import { actsMigrations } from '../../services/acts/migrations';
import type { ActsDatabase } from '../../services/acts/schema';
import { SqlActsStore } from '../../services/acts/sql-store';
import { httpUserDirectory } from '../../services/acts/user-directory';
import { openDatabase, type Database } from '../../services/shared/database';
import { silentLogger } from '../../common/log';
import { migrateToLatest } from '../../services/shared/migrate';
import { createApp as createUsersApp } from '../../services/users/app';
import { usersMigrations } from '../../services/users/migrations';
import type { UsersDatabase } from '../../services/users/schema';
import { SqlUsersStore } from '../../services/users/sql-store';

export const PASSWORD = '3d725109c7e7c0bfb9d709836735b56d943d263f';
export const PUBLIC_ORIGIN = 'http://public.example';

export const EXAMPLE_ACT = {
  actId: 1234,
  username: 'xyz',
  timestamp: '10-10-2019:45-23-03',
  caption: '#helloworld',
  categoryName: 'abc',
  imgB64: 'bWF5byBvciBtdXN0Pw==',
};

export function act(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...EXAMPLE_ACT, ...overrides };
}

export interface TempDir {
  readonly path: string;
  remove(): void;
}

export function tempDir(prefix = 'sla-services-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function openActsDatabase(url: string): Promise<Database<ActsDatabase>> {
  const database = await openDatabase<ActsDatabase>(url, { logger: silentLogger, connectRetryMs: 0 });
  await migrateToLatest(database.db, database.dialect, 'acts', actsMigrations);
  return database;
}

export async function openUsersDatabase(url: string): Promise<Database<UsersDatabase>> {
  const database = await openDatabase<UsersDatabase>(url, { logger: silentLogger, connectRetryMs: 0 });
  await migrateToLatest(database.db, database.dialect, 'users', usersMigrations);
  return database;
}

/** A users service stand-in: answers the list API with `usernames` and records each look-up. */
export interface UsersStandIn {
  readonly url: string;
  readonly lookups: { method: string; path: string; origin: string | undefined }[];
  usernames: string[];
  /** Overrides the answer, e.g. 500 or 204. */
  status: number | undefined;
  /** Awaited before each answer: lets a test hold a look-up in flight. */
  beforeAnswer: (() => Promise<void>) | undefined;
  close(): Promise<void>;
}

export async function startUsersStandIn(usernames: string[] = ['xyz']): Promise<UsersStandIn> {
  const standIn = {
    lookups: [] as UsersStandIn['lookups'],
    usernames,
    status: undefined as number | undefined,
    beforeAnswer: undefined as (() => Promise<void>) | undefined,
  };
  const server = http.createServer(async (req, res) => {
    standIn.lookups.push({ method: req.method ?? '', path: req.url ?? '', origin: req.headers.origin });
    await standIn.beforeAnswer?.();
    if (standIn.status !== undefined) {
      res.writeHead(standIn.status).end(standIn.status === 204 ? undefined : '{}');
      return;
    }
    if (standIn.usernames.length === 0) {
      res.writeHead(204).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(standIn.usernames));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(standIn, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** The acts app on a fresh SQLite file, asking `users` about usernames over real HTTP. */
export interface ActsHarness {
  readonly app: Express;
  readonly store: SqlActsStore;
  readonly database: Database<ActsDatabase>;
  readonly users: UsersStandIn;
  readonly dir: TempDir;
  close(): Promise<void>;
}

export async function actsHarness(
  options: { usersTimeoutMs?: number; healthTimeoutMs?: number; heapLimitFraction?: number } = {},
): Promise<ActsHarness> {
  const dir = tempDir();
  const database = await openActsDatabase(`sqlite:${join(dir.path, 'data', 'acts.db')}`);
  const users = await startUsersStandIn();
  const store = new SqlActsStore(database);
  const directory = httpUserDirectory({
    usersUrl: users.url,
    publicOrigin: PUBLIC_ORIGIN,
    timeoutMs: options.usersTimeoutMs,
    logger: silentLogger,
  });
  const app = createActsApp({
    store,
    users: directory,
    logger: silentLogger,
    healthTimeoutMs: options.healthTimeoutMs,
    heapLimitFraction: options.heapLimitFraction,
  });
  return {
    app,
    store,
    database,
    users,
    dir,
    close: async () => {
      await users.close();
      await database.destroy();
      dir.remove();
    },
  };
}

export interface UsersHarness {
  readonly app: Express;
  readonly store: SqlUsersStore;
  readonly database: Database<UsersDatabase>;
  close(): Promise<void>;
}

export async function usersHarness(): Promise<UsersHarness> {
  const dir = tempDir();
  const database = await openUsersDatabase(`sqlite:${join(dir.path, 'users.db')}`);
  const store = new SqlUsersStore(database.db);
  const app = createUsersApp({ store, logger: silentLogger });
  return {
    app,
    store,
    database,
    close: async () => {
      await database.destroy();
      dir.remove();
    },
  };
}

/** A response body as the bytes a client compares. */
export function rawText(res: { text?: string; body?: unknown }): string {
  return res.text ?? '';
}
