import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundledServiceCommand } from '../../scripts/services-bundle';
import { startService, type ServiceProcess } from './processes';

describe('process mode runs the services bundled, as the images do', () => {
  test('the command is plain node on one JavaScript file: no TypeScript loader at run time', () => {
    const command = bundledServiceCommand('acts');
    expect(command).toEqual([process.execPath, expect.stringMatching(/\.js$/)]);
    expect(command.join(' ')).not.toMatch(/tsx|--import|--loader/);
  });

  describe('the bundled acts service', () => {
    let dir: string;
    let acts: ServiceProcess;
    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'acts-bundle-'));
      acts = await startService('acts', {
        DATABASE_URL: `sqlite:${path.join(dir, 'acts.db')}`,
        USERS_URL: 'http://127.0.0.1:9',
        LOG_LEVEL: 'warn',
      });
    });
    afterAll(async () => {
      await acts?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('migrates its database and answers the API', async () => {
      const created = await fetch(`${acts.url}/api/v1/categories`, { method: 'POST', body: '["cats"]' });
      expect(created.status).toBe(201);
      const listed = await fetch(`${acts.url}/api/v1/categories`);
      expect(listed.status).toBe(200);
      expect(listed.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await listed.text()).toBe('{"cats":0}');
    });
  });
});
