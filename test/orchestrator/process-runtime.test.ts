import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createProcessRuntime, type ProcessRuntime } from '../../orchestrator/process-runtime';
import type { ReplicaExit, ReplicaSpec } from '../../orchestrator/runtime';
import { freePort } from '../support/requirements';
import { FAKE_SERVICE, REPO_ROOT, eventually, isListening, processAlive, request } from './helpers';

describe('process runtime', () => {
  let runtime: ProcessRuntime;
  let logDir: string;
  const exits: ReplicaExit[] = [];

  beforeEach(() => {
    logDir = mkdtempSync(path.join(os.tmpdir(), 'orch-proc-'));
    runtime = createProcessRuntime({ cwd: REPO_ROOT, logDir });
    exits.length = 0;
    runtime.onExit((e) => exits.push(e));
  });
  afterEach(async () => {
    await runtime.removeAll();
    await runtime.close();
  });

  function spec(port: number, overrides: Partial<ReplicaSpec> = {}): ReplicaSpec {
    return {
      pool: 'fake',
      port,
      command: FAKE_SERVICE,
      internalPort: port,
      env: { FAKE_MARK: 'from-pool-env' },
      specHash: 'h1',
      ...overrides,
    };
  }

  test('starts the command with PORT set, reachable on that port, listed as running', async () => {
    const port = await freePort();
    const info = await runtime.start(spec(port));
    expect(info).toEqual({
      id: expect.stringMatching(/^pid:\d+$/),
      pool: 'fake',
      port,
      specHash: 'h1',
      running: true,
    });
    const reply = await eventually(() => request(port, 'GET', '/api/v1/anything'));
    expect(reply.json<{ port: number; pid: number }>()).toMatchObject({
      port,
      pid: Number(info.id.slice(4)),
    });
    expect(await runtime.list()).toEqual([info]);
  });

  test('passes the pool environment and appends output to a per-replica log file', async () => {
    const port = await freePort();
    await runtime.start(spec(port, { command: ['sh', '-c', 'echo "mark=$FAKE_MARK port=$PORT"; sleep 30'] }));
    const log = await eventually(() => {
      const text = readFileSync(path.join(logDir, `fake-${port}.log`), 'utf8');
      return text.includes('mark=from') && text;
    });
    expect(log).toContain(`mark=from-pool-env port=${port}`);
  });

  test('remove kills the replica and resolves only once its port is free', async () => {
    const port = await freePort();
    const info = await runtime.start(spec(port));
    await eventually(() => isListening(port));
    await runtime.remove(info.id);
    expect(await isListening(port)).toBe(false);
    expect(processAlive(Number(info.id.slice(4)))).toBe(false);
    expect(await runtime.list()).toEqual([]);
    await runtime.remove(info.id);
  });

  test('an exit is reported at once, with its cause, and the replica is listed as not running', async () => {
    const port = await freePort();
    const info = await runtime.start(spec(port));
    await eventually(() => isListening(port));
    process.kill(Number(info.id.slice(4)), 'SIGKILL');
    await eventually(() => exits.length === 1);
    expect(exits).toEqual([{ id: info.id, pool: 'fake', port, reason: 'killed by SIGKILL' }]);
    expect(await runtime.list()).toEqual([{ ...info, running: false }]);
  });

  test('a command that exits on its own reports its exit code', async () => {
    const port = await freePort();
    const info = await runtime.start(spec(port, { command: ['sh', '-c', 'exit 3'] }));
    await eventually(() => exits.length === 1);
    expect(exits[0]).toEqual({ id: info.id, pool: 'fake', port, reason: 'exited with code 3' });
  });

  test('remove kills the whole process group, grandchildren included', async () => {
    const port = await freePort();
    const pidFile = path.join(logDir, 'grandchild.pid');
    const info = await runtime.start(
      spec(port, { command: ['sh', '-c', `sleep 300 & echo $! > ${pidFile}; wait`] }),
    );
    const grandchild = await eventually(() => Number(readFileSync(pidFile, 'utf8').trim()) || undefined);
    expect(processAlive(grandchild)).toBe(true);
    await runtime.remove(info.id);
    await eventually(() => !processAlive(grandchild));
  });

  test('a replacement on the same port is a new process with a new id', async () => {
    const port = await freePort();
    const first = await runtime.start(spec(port));
    await eventually(() => isListening(port));
    await runtime.remove(first.id);
    const second = await runtime.start(spec(port));
    const reply = await eventually(() => request(port, 'GET', '/api/v1/x'));
    expect(second.id).not.toBe(first.id);
    expect(reply.json<{ pid: number }>().pid).toBe(Number(second.id.slice(4)));
  });

  test('a command that cannot be spawned rejects start', async () => {
    const port = await freePort();
    await expect(runtime.start(spec(port, { command: ['/nonexistent/binary'] }))).rejects.toThrow(/ENOENT/);
    expect(await runtime.list()).toEqual([]);
  });

  test('close leaves replicas running; removeAll removes them', async () => {
    const port = await freePort();
    const info = await runtime.start(spec(port));
    await eventually(() => isListening(port));
    await runtime.close();
    expect(processAlive(Number(info.id.slice(4)))).toBe(true);
    await runtime.removeAll();
    expect(processAlive(Number(info.id.slice(4)))).toBe(false);
    expect(await isListening(port)).toBe(false);
  });
});
