import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseMainArgs } from '../../orchestrator/main-args';
import { freePort } from '../support/requirements';
import {
  FAKE_SERVICE,
  runCommand,
  type CommandRun,
  eventually,
  freePortRange,
  isListening,
  processAlive,
  request,
} from './helpers';

jest.setTimeout(60_000);

function runMain(args: string[], env: NodeJS.ProcessEnv = {}): CommandRun {
  return runCommand(process.execPath, ['--import', 'tsx', 'orchestrator/main.ts', ...args], {
    env: { ...process.env, ...env },
  });
}

function writeConfig(config: unknown): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'orch-main-')), 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe('parseMainArgs', () => {
  test.each([
    [['--config', 'a.json'], { configFile: 'a.json', down: false }],
    [['--config=a.json', '--down'], { configFile: 'a.json', down: true }],
  ])('%j', (argv, expected) => expect(parseMainArgs(argv)).toEqual(expected));

  test.each([[[]], [['--config']], [['--config', 'a.json', '--up']]])('rejects %j', (argv) => {
    expect(() => parseMainArgs(argv)).toThrow(/--config|unknown argument/);
  });
});

describe('orchestrator/main.ts as a process', () => {
  test('runs a config file, serves through the front door, and on SIGTERM finishes and removes its process replicas', async () => {
    const [listenPort, adminPort, firstPort] = [await freePort(), await freePort(), await freePortRange(2)];
    const file = writeConfig({
      listen: { host: '127.0.0.1', port: 1 },
      admin: { host: '127.0.0.1', port: adminPort },
      runtime: { kind: 'process', logDir: mkdtempSync(path.join(os.tmpdir(), 'orch-main-logs-')) },
      health: { intervalMs: 500, timeoutMs: 450 },
      pools: [
        { name: 'fake', command: FAKE_SERVICE, firstPort, minReplicas: 2, maxReplicas: 2, autoscale: false },
      ],
    });
    // The environment overrides the file's listen port.
    const run = runMain(['--config', file], { ORCH_LISTEN_PORT: String(listenPort) });
    const status = await eventually(async () => {
      const s = (await request(adminPort, 'GET', '/status')).json<{
        pools: Array<{ replicas: Array<{ id: string; inRotation: boolean }> }>;
      }>();
      return s.pools[0]!.replicas.length === 2 && s.pools[0]!.replicas.every((r) => r.inRotation) && s;
    }, 100);
    const ports = [
      (await request(listenPort, 'GET', '/api/v1/a')).json<{ port: number }>().port,
      (await request(listenPort, 'GET', '/api/v1/b')).json<{ port: number }>().port,
    ];
    expect(ports.sort()).toEqual([firstPort, firstPort + 1]);

    const slow = request(listenPort, 'GET', '/api/v1/slow?ms=800');
    await new Promise((r) => setTimeout(r, 100));
    run.child.kill('SIGTERM');
    expect((await slow).status).toBe(200);
    expect(await run.exited).toBe(0);
    for (const r of status.pools[0]!.replicas) expect(processAlive(Number(r.id.slice(4)))).toBe(false);
    expect(await isListening(firstPort)).toBe(false);
    expect(await isListening(listenPort)).toBe(false);
    const lines = run
      .output()
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string });
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['listening', 'replica state', 'signal received', 'stopped']),
    );
  });

  test('an invalid config exits with code 2 naming the field', async () => {
    const run = runMain([
      '--config',
      writeConfig({
        runtime: { kind: 'process' },
        pools: [{ name: 'fake', firstPort: 'x', command: ['a'] }],
      }),
    ]);
    expect(await run.exited).toBe(2);
    expect(run.output()).toContain('pools[0].firstPort must be an integer');
  });

  test('a taken listen port exits non-zero with a clear message and starts no replica', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as net.AddressInfo).port;
    const firstPort = await freePortRange(1);
    const run = runMain([
      '--config',
      writeConfig({
        listen: { host: '127.0.0.1', port: taken },
        admin: { port: 0 },
        runtime: { kind: 'process' },
        pools: [{ name: 'fake', command: FAKE_SERVICE, firstPort }],
      }),
    ]);
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain(`front door port ${taken} on 127.0.0.1 is already in use`);
    expect(await isListening(firstPort)).toBe(false);
    await new Promise((r) => blocker.close(r));
  });
});
