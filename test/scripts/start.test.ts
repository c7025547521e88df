import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseStartArgs, type StartOptions } from '../../scripts/start/cli';
import { shareDataDirWithContainers } from '../../scripts/start/preflight';
import { buildStartConfig, serviceDatabaseUrl } from '../../scripts/start/preset';
import { bundledServiceCommand } from '../../scripts/services-bundle';
import { freePort } from '../support/requirements';
import {
  eventually,
  freePortRange,
  isListening,
  killGroup,
  npmStart,
  npmStartArgs,
  processAlive,
  request,
} from '../orchestrator/helpers';

jest.setTimeout(90_000);

const defaults: StartOptions = {
  port: 8080,
  runtime: 'process',
  replicas: undefined,
  windowSeconds: 120,
  dataDir: './data',
  databaseUrl: undefined,
  actsFirstPort: 8000,
  usersFirstPort: 8100,
  adminPort: 9090,
};

describe('npm start options', () => {
  test.each<[string[], Partial<StartOptions>]>([
    [[], {}],
    [['--port', '9000'], { port: 9000 }],
    [['--port=9000', '--runtime', 'docker'], { port: 9000, runtime: 'docker' }],
    [['--replicas', '3', '--window-seconds', '10'], { replicas: 3, windowSeconds: 10 }],
    [
      ['--data-dir', '/tmp/x', '--database-url', 'mysql://root@127.0.0.1:3306/s'],
      { dataDir: '/tmp/x', databaseUrl: 'mysql://root@127.0.0.1:3306/s' },
    ],
    [
      ['--acts-first-port', '30000', '--users-first-port', '30100', '--admin-port', '0'],
      { actsFirstPort: 30000, usersFirstPort: 30100, adminPort: 0 },
    ],
  ])('%j', (argv, expected) => {
    expect(parseStartArgs(argv)).toEqual({ ...defaults, ...expected });
  });

  test('--help asks for the usage text', () => {
    expect(parseStartArgs(['--port', '1', '--help'])).toBeUndefined();
  });

  test.each([
    [['--port', 'x'], /--port needs a whole number/],
    [['--port'], /--port needs a whole number/],
    [['--runtime', 'vm'], /--runtime must be process or docker/],
    [['--replicas', '0'], /--replicas needs a whole number between 1 and 10/],
    [['--database-url', 'postgres://x'], /mysql:\/\/... or sqlite:/],
    [['--verbose'], /unknown option/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseStartArgs(argv)).toThrow(message);
  });

  test.each([
    ['mysql://root@127.0.0.1:3306/selfieless', 'users', 'mysql://root@127.0.0.1:3306/selfieless_users'],
    ['mysql://root:pw@db:3306/app', 'acts', 'mysql://root:pw@db:3306/app_acts'],
    ['sqlite:/data/all.db', 'acts', 'sqlite:/data/all-acts.db'],
  ] as const)('%s gives %s its own database', (base, service, expected) => {
    expect(serviceDatabaseUrl(base, service)).toBe(expected);
  });
});

describe('a data directory shared with containers', () => {
  test('opens the directory and the SQLite files an earlier process run left, and nothing else', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'start-share-'));
    for (const file of ['acts.db', 'acts.db-wal', 'users.db', 'notes.txt'])
      writeFileSync(path.join(dir, file), '', { mode: 0o644 });
    const said: string[] = [];
    shareDataDirWithContainers(dir, (line) => said.push(line));
    const mode = (file: string) => statSync(path.join(dir, file)).mode & 0o7777;
    expect(statSync(dir).mode & 0o7777).toBe(0o1777);
    expect([mode('acts.db'), mode('acts.db-wal'), mode('users.db')]).toEqual([0o666, 0o666, 0o666]);
    expect(mode('notes.txt')).toBe(0o644);
    expect(said).toEqual([expect.stringContaining('mode 1777')]);
  });
});

describe('the configuration npm start builds', () => {
  test('process runtime: users on /api/v1/users, acts on the rest, SQLite files in the data dir, acts pointed at the front door', () => {
    const config = buildStartConfig({ ...defaults, dataDir: '/srv/d' }, '/repo/web/dist');
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.admin.host).toBe('127.0.0.1');
    expect(config.runtime).toEqual({ kind: 'process', logDir: '/srv/d/logs' });
    expect(config.staticDir).toBe('/repo/web/dist');
    expect(config.teardownOnExit).toBe(true);
    const [users, acts] = config.pools;
    // Plain node on the service's bundle, with the replica memory settings, as the images run it.
    expect(users!.command?.at(-1)).toMatch(/data\/bundle\/users\.js$/);
    expect(acts!.command?.at(-1)).toMatch(/data\/bundle\/acts\.js$/);
    expect(users).toMatchObject({
      name: 'users',
      firstPort: 8100,
      pathPrefixes: ['/api/v1/users'],
      autoscale: true,
      command: bundledServiceCommand('users'),
      env: { DATABASE_URL: 'sqlite:/srv/d/users.db' },
    });
    expect(acts).toMatchObject({
      name: 'acts',
      firstPort: 8000,
      pathPrefixes: ['/api/v1/'],
      minReplicas: 1,
      maxReplicas: 10,
      autoscale: true,
      command: bundledServiceCommand('acts'),
      env: {
        DATABASE_URL: 'sqlite:/srv/d/acts.db',
        USERS_URL: 'http://127.0.0.1:8080',
        PUBLIC_ORIGIN: 'http://localhost:8080',
      },
    });
  });

  test('docker runtime: images, the data dir mounted at /data, container ports 8000/8100', () => {
    const config = buildStartConfig(
      { ...defaults, runtime: 'docker', dataDir: '/srv/d', replicas: 2 },
      undefined,
    );
    expect(config.runtime).toEqual({ kind: 'docker', publishHost: '127.0.0.1', owner: 'orchestrator' });
    expect(config.staticDir).toBeUndefined();
    const [users, acts] = config.pools;
    expect(users).toMatchObject({
      image: 'users:latest',
      internalPort: 8100,
      mounts: [{ source: '/srv/d', target: '/data' }],
      env: { DATABASE_URL: 'sqlite:/data/users.db' },
    });
    expect(acts).toMatchObject({
      image: 'acts:latest',
      internalPort: 8000,
      minReplicas: 2,
      maxReplicas: 2,
      autoscale: false,
      env: { DATABASE_URL: 'sqlite:/data/acts.db' },
    });
  });

  test('--database-url gives each service its own database', () => {
    const config = buildStartConfig({ ...defaults, databaseUrl: 'mysql://root@127.0.0.1:3306/s' }, undefined);
    expect(config.pools.map((p) => p.env.DATABASE_URL)).toEqual([
      'mysql://root@127.0.0.1:3306/s_users',
      'mysql://root@127.0.0.1:3306/s_acts',
    ]);
  });
});

const PASSWORD = '3d725109c7e7c0bfb9d709836735b56d943d263f';

// Each wait ends well inside the test's timeout, so a stuck step fails with what npm start and
// the orchestrator said, not with jest's bare "exceeded timeout".
const STEP_DEADLINE_MS = 30_000;

function send(
  port: number,
  method: string,
  urlPath: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  return fetch(`http://127.0.0.1:${port}${urlPath}`, {
    method,
    signal: AbortSignal.timeout(STEP_DEADLINE_MS / 2),
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
      : {}),
  }).then(async (res) => ({ status: res.status, text: await res.text() }));
}

/** `error` with npm start's output and the end of the orchestrator's log appended. */
function withRunContext(error: unknown, output: string, dataDir: string): Error {
  const logFile = path.join(dataDir, 'logs', 'orchestrator.log');
  const log = existsSync(logFile)
    ? readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n')
    : '(none)';
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`${message}\n--- npm start printed:\n${output}\n--- end of orchestrator.log:\n${log}`);
}

describe('npm start end to end (real services as processes)', () => {
  test('serves the whole API through the front door with data shared by every replica, and Ctrl-C leaves no process behind', async () => {
    const port = await freePort();
    const actsFirstPort = await freePortRange(2);
    const usersFirstPort = await freePortRange(10);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'orch-start-'));
    let pids: number[] = [];
    const run = npmStart(npmStartArgs({ port, actsFirstPort, usersFirstPort, dataDir }, ['--replicas', '2']));
    try {
      await eventually(
        () =>
          run.output().includes('Ready: open') ||
          (run.child.exitCode !== null && Promise.reject(new Error(run.output()))),
        100,
        STEP_DEADLINE_MS,
      );
      expect(run.output()).toContain(`Ready: open http://localhost:${port}`);
      const adminPort = Number(/Status: http:\/\/127\.0\.0\.1:(\d+)\/status/.exec(run.output())![1]);
      // Both acts replicas in rotation before checking that they share data.
      const status = await eventually(
        async () => {
          const s = (await request(adminPort, 'GET', '/status')).json<{
            pools: Array<{ name: string; replicas: Array<{ id: string; inRotation: boolean }> }>;
          }>();
          return (
            s.pools.every((p) => p.replicas.length > 0 && p.replicas.every((r) => r.inRotation)) &&
            s.pools.find((p) => p.name === 'acts')!.replicas.length === 2 &&
            s
          );
        },
        100,
        STEP_DEADLINE_MS,
      );
      pids = status.pools.flatMap((p) => p.replicas.map((r) => Number(r.id.slice(4))));

      expect((await send(port, 'GET', '/')).status).toBe(200);
      expect(await send(port, 'POST', '/api/v1/users', { username: 'alice', password: PASSWORD })).toEqual({
        status: 201,
        text: '{}',
      });
      expect(await send(port, 'GET', '/api/v1/users')).toEqual({ status: 200, text: '["alice"]' });
      expect((await send(port, 'POST', '/api/v1/categories', ['cats'])).status).toBe(201);
      // Round-robin over two acts replicas: consecutive reads hit both, and both see the same data.
      for (let i = 0; i < 2; i++)
        expect(await send(port, 'GET', '/api/v1/categories')).toEqual({ status: 200, text: '{"cats":0}' });
      const act = {
        actId: 7,
        username: 'alice',
        timestamp: '10-10-2019:45-23-03',
        caption: 'hi',
        categoryName: 'cats',
        imgB64: 'bWF5byBvciBtdXN0Pw==',
      };
      expect((await send(port, 'POST', '/api/v1/acts', act)).status).toBe(201);
      expect(
        (await send(port, 'POST', '/api/v1/acts', { ...act, actId: 8, username: 'nobody' })).status,
      ).toBe(400);
      for (let i = 0; i < 2; i++) {
        expect(await send(port, 'GET', '/api/v1/categories/cats/acts')).toEqual({
          status: 200,
          text: JSON.stringify(
            [{ ...act, upvotes: 0 }].map(
              ({ actId, username, timestamp, caption, upvotes, categoryName, imgB64 }) => ({
                actId,
                username,
                timestamp,
                caption,
                upvotes,
                categoryName,
                imgB64,
              }),
            ),
          ),
        });
        expect(await send(port, 'GET', '/api/v1/acts/count')).toEqual({ status: 200, text: '[1]' });
      }
      const counts = await Promise.all(
        [actsFirstPort, actsFirstPort + 1].map(
          async (p) => (await request(p, 'GET', '/api/v1/_count')).json<number[]>()[0]!,
        ),
      );
      // Nine acts requests went through the front door: strict round-robin splits them 5/4.
      expect(counts.sort()).toEqual([4, 5]);

      expect(pids).toHaveLength(3);
      // Ctrl-C in a terminal: SIGINT to the whole foreground process group.
      process.kill(-run.child.pid!, 'SIGINT');
      await eventually(() => /stopped\.|failed/.test(run.output()), 50, STEP_DEADLINE_MS);
      expect(run.output()).toMatch(/SIGINT: stopping every replica…\nstopped\.\n$/);
      await eventually(() => pids.every((pid) => !processAlive(pid)), 25, STEP_DEADLINE_MS);
      for (const p of [port, actsFirstPort, actsFirstPort + 1, usersFirstPort])
        expect(await isListening(p)).toBe(false);
    } catch (error) {
      throw withRunContext(error, run.output(), dataDir);
    } finally {
      killGroup(run.child.pid!);
      // Replicas lead their own process groups: a failed test must not leave them running.
      for (const pid of pids) killGroup(pid);
    }
  }, 150_000);

  test('refuses clearly, before starting anything, when a needed port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as net.AddressInfo).port;
    const actsFirstPort = await freePortRange(10);
    const run = npmStart([
      '--port',
      String(taken),
      '--data-dir',
      mkdtempSync(path.join(os.tmpdir(), 'orch-start-')),
      '--acts-first-port',
      String(actsFirstPort),
      '--users-first-port',
      String(await freePortRange(10)),
      '--admin-port',
      '0',
    ]);
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain(`ports are already in use: ${taken} (front door)`);
    expect(run.output()).not.toContain('starting');
    expect(await isListening(actsFirstPort)).toBe(false);
    await new Promise((r) => blocker.close(r));
  });
});
