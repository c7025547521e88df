import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeWith } from '../support/requirements';
import { scratchMysqlDatabase } from './mysql';
import { startService } from './processes';
import { act, PASSWORD, PUBLIC_ORIGIN, startUsersStandIn, tempDir } from './support';

jest.setTimeout(60_000);

describe('service entry points (npm run start:users / start:acts)', () => {
  test('users: starts from env on a SQLite path whose directory does not exist yet, serves, exits 0 on SIGTERM', async () => {
    const dir = tempDir();
    try {
      const dbPath = join(dir.path, 'not', 'yet', 'users.db');
      const users = await startService('users', { DATABASE_URL: `sqlite:${dbPath}` });
      const created = await fetch(`${users.url}/api/v1/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json;charset=utf-8' },
        body: JSON.stringify({ username: 'xyz', password: PASSWORD }),
      });
      expect(created.status).toBe(201);
      expect(await (await fetch(`${users.url}/api/v1/users`)).text()).toBe('["xyz"]');
      expect(existsSync(dbPath)).toBe(true);
      expect(await users.stop()).toBe(0);
    } finally {
      dir.remove();
    }
  });

  test('acts: SIGTERM lets an in-flight upload finish, then exits 0', async () => {
    const dir = tempDir();
    const standIn = await startUsersStandIn(['xyz']);
    try {
      const acts = await startService('acts', {
        DATABASE_URL: `sqlite:${join(dir.path, 'acts.db')}`,
        USERS_URL: standIn.url,
        PUBLIC_ORIGIN,
      });
      await fetch(`${acts.url}/api/v1/categories`, { method: 'POST', body: '["abc"]' });

      // Hold the users look-up: the upload is then provably in flight when SIGTERM arrives.
      let release!: () => void;
      let lookupArrived!: () => void;
      const arrived = new Promise<void>((resolve) => (lookupArrived = resolve));
      standIn.beforeAnswer = () => {
        lookupArrived();
        return new Promise<void>((resolve) => (release = resolve));
      };
      const upload = fetch(`${acts.url}/api/v1/acts`, { method: 'POST', body: JSON.stringify(act()) });
      await arrived;
      const exited = acts.stop();
      // Give the signal time to be handled before the look-up is answered.
      await new Promise((resolve) => setTimeout(resolve, 300));
      release();
      const res = await upload;
      expect(res.status).toBe(201);
      expect(await exited).toBe(0);
      expect(acts.output()).toContain('"msg":"shutting down"');
    } finally {
      await standIn.close();
      dir.remove();
    }
  });

  test('a bad DATABASE_URL stops the process with a clear message and a non-zero code', async () => {
    await expect(startService('acts', { DATABASE_URL: 'postgres://nope/x' })).rejects.toThrow(
      /DATABASE_URL must start with sqlite: or mysql:\/\//,
    );
  });
});

describeWith('mysql', 'service entry points on MySQL', () => {
  test('acts: creates the database when missing, serves, exits 0 on SIGTERM', async () => {
    const scratch = scratchMysqlDatabase('main');
    try {
      const acts = await startService('acts', {
        DATABASE_URL: scratch.url,
        USERS_URL: 'http://127.0.0.1:9',
        PUBLIC_ORIGIN,
      });
      expect((await fetch(`${acts.url}/api/v1/_health`)).status).toBe(200);
      expect((await fetch(`${acts.url}/api/v1/categories`, { method: 'POST', body: '["abc"]' })).status).toBe(
        201,
      );
      expect(await (await fetch(`${acts.url}/api/v1/categories`)).text()).toBe('{"abc":0}');
      expect(await acts.stop()).toBe(0);
    } finally {
      await scratch.drop();
    }
  });
});
