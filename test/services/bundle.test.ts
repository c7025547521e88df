import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { bundledServiceCommand, REPLICA_ENV, REPLICA_NODE_FLAGS } from '../../scripts/services-bundle';
import { LARGE_TEXT_BYTES } from '../../services/shared/large-text';
import { startService, REPO_ROOT, type ServiceProcess } from './processes';
import { actsHarness, type ActsHarness } from './support';

/** Base64 of a photo above LARGE_TEXT_BYTES, so the upload takes the large-text path. */
const LARGE_PHOTO_B64 = Buffer.alloc(LARGE_TEXT_BYTES, 7).toString('base64');

describe('process mode runs the services bundled, as the images do', () => {
  test('the command is plain node on one JavaScript file, with the replica environment: no TypeScript loader', () => {
    const command = bundledServiceCommand('acts');
    expect(command).toEqual([
      '/usr/bin/env',
      ...Object.entries(REPLICA_ENV).map(([k, v]) => `${k}=${v}`),
      process.execPath,
      ...REPLICA_NODE_FLAGS,
      expect.stringMatching(/\.js$/),
    ]);
    expect(command.join(' ')).not.toMatch(/tsx|--import|--loader/);
  });

  test('the images build with the same options and set the same environment', () => {
    const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain("require('./services/shared/bundle.json')");
    for (const [name, value] of Object.entries(REPLICA_ENV))
      expect(dockerfile).toMatch(new RegExp(`^ENV [^]*?\\b${name}=${value} `, 'm'));
    expect(dockerfile).toContain(`CMD ["${['node', ...REPLICA_NODE_FLAGS, 'main.js'].join('", "')}"]`);
  });

  // An idle acts replica loads neither node:crypto (express's ETag package, which the services
  // turn off; the large-photo parser loads it on first use) nor the `debug` package's terminal
  // detection: together about 1 MB of its resident memory at rest (docs/performance.md).
  test('the acts bundle loads no module at start that only its unused features need', () => {
    const source = readFileSync(bundledServiceCommand('acts').at(-1)!, 'utf8');
    const required = new Set([...source.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]));
    for (const name of ['crypto', 'node:crypto', 'tty', 'node:tty', 'os', 'node:os'])
      expect(required).not.toContain(name);
  });

  describe('the bundled acts service', () => {
    let harness: ActsHarness;
    let inProcess: http.Server;
    let inProcessUrl: string;
    let acts: ServiceProcess;
    beforeAll(async () => {
      harness = await actsHarness();
      harness.users.usernames = ['xyz'];
      inProcess = http.createServer(harness.app);
      await new Promise<void>((resolve) => inProcess.listen(0, '127.0.0.1', resolve));
      inProcessUrl = `http://127.0.0.1:${(inProcess.address() as AddressInfo).port}`;
      acts = await startService('acts', {
        DATABASE_URL: `sqlite:${path.join(harness.dir.path, 'bundled.db')}`,
        USERS_URL: harness.users.url,
        LOG_LEVEL: 'warn',
      });
    });
    afterAll(async () => {
      await acts?.stop();
      await new Promise((resolve) => inProcess?.close(resolve));
      await harness?.close();
    });

    test('migrates its database and answers the API', async () => {
      const created = await fetch(`${acts.url}/api/v1/categories`, { method: 'POST', body: '["cats"]' });
      expect(created.status).toBe(201);
      const listed = await fetch(`${acts.url}/api/v1/categories`);
      expect(listed.status).toBe(200);
      expect(listed.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await listed.text()).toBe('{"cats":0}');
      await fetch(`${acts.url}/api/v1/categories/cats`, { method: 'DELETE' });
    });

    test('runs with the replica environment', () => {
      const environ = readFileSync(`/proc/${acts.child.pid}/environ`, 'utf8').split('\0');
      for (const [name, value] of Object.entries(REPLICA_ENV)) expect(environ).toContain(`${name}=${value}`);
    });

    // The bundle leaves out packages express loads for features the services do not use
    // (services/shared/bundle-absent.cjs): every answer must stay byte for byte the same.
    test('answers every kind of request exactly as the service in this process does', async () => {
      const exchanges: [method: string, pathname: string, body?: string, headers?: Record<string, string>][] =
        [
          ['GET', '/api/v1/categories'],
          ['POST', '/api/v1/categories', '["abc"]'],
          ['POST', '/api/v1/categories', '["abc"]'],
          ['POST', '/api/v1/categories', '{"not json'],
          ['POST', '/api/v1/categories', 'a=b', { 'content-type': 'application/x-www-form-urlencoded' }],
          [
            'POST',
            '/api/v1/acts',
            '{"actId":7,"username":"xyz","timestamp":"10-10-2019:45-23-03","caption":"c","categoryName":"abc","imgB64":"bWF5byBvciBtdXN0Pw=="}',
          ],
          ['GET', '/api/v1/categories'],
          ['GET', '/api/v1/categories/abc/acts'],
          ['GET', '/api/v1/categories/abc/acts?start=1&end=1'],
          ['GET', '/api/v1/categories/abc/acts?start[]=1&end=1'],
          ['GET', '/api/v1/categories/abc/acts?start=1&start=1&end=1'],
          ['GET', '/api/v1/categories/abc/acts/size'],
          ['HEAD', '/api/v1/categories'],
          ['OPTIONS', '/api/v1/categories', undefined, { 'access-control-request-method': 'POST' }],
          ['OPTIONS', '/api/v1/categories'],
          ['PUT', '/api/v1/categories'],
          ['GET', '/api/v1/nowhere'],
          ['GET', '/api/v1/categories/%E0%A4%A/acts'],
          ['GET', '/'],
          ['POST', '/api/v1/acts/upvote', '[7]'],
          ['GET', '/api/v1/list_act_user/xyz'],
          ['GET', '/api/v1/acts/recent?start=1&end=1'],
          // A photo long enough to stay bytes (services/shared/large-text.ts), which loads
          // node:crypto on first use in the bundle.
          [
            'POST',
            '/api/v1/acts',
            `{"actId":8,"username":"xyz","timestamp":"11-10-2019:45-23-03","caption":"big","categoryName":"abc","imgB64":"${LARGE_PHOTO_B64}"}`,
          ],
          ['GET', '/api/v1/categories/abc/acts'],
          ['DELETE', '/api/v1/acts/8'],
          ['DELETE', '/api/v1/acts/7'],
          ['DELETE', '/api/v1/categories/abc'],
        ];
      for (const [method, pathname, body, headers] of exchanges) {
        const [ours, reference] = await Promise.all(
          [acts.url, inProcessUrl].map(async (base) => {
            const res = await fetch(base + pathname, { method, body, headers });
            const seen: Record<string, string> = {};
            res.headers.forEach((value, name) => {
              if (!['date', 'keep-alive', 'connection'].includes(name)) seen[name] = value;
            });
            return {
              request: `${method} ${pathname}`,
              status: res.status,
              headers: seen,
              body: await res.text(),
            };
          }),
        );
        expect(ours).toEqual(reference);
      }
    });
  });
});
