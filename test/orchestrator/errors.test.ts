import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequest } from '../../orchestrator/docker-runtime';
import { applyEnvOverrides, loadConfigFile, parseConfig } from '../../orchestrator/config';
import { ERROR_CODES, errorCode } from '../../orchestrator/errors';
import { parseMainArgs } from '../../orchestrator/main-args';
import { createProcessRuntime } from '../../orchestrator/process-runtime';
import { parseStartArgs } from '../../scripts/start/cli';

/** The code of what `action` throws; fails the test when it throws nothing. */
function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (err) {
    return errorCode(err);
  }
  throw new Error('expected an error');
}

const minimal = { runtime: { kind: 'process' }, pools: [{ name: 'acts', command: ['x'], firstPort: 8000 }] };

describe('errors carry stable codes', () => {
  test.each<[string, () => unknown, string]>([
    ['an invalid config field', () => parseConfig({ ...minimal, listen: { port: 'x' } }), ERROR_CODES.config],
    ['an unreadable config file', () => loadConfigFile('/nonexistent/orchestrator.json'), ERROR_CODES.config],
    [
      'a bad environment override',
      () => applyEnvOverrides(parseConfig(minimal), { ORCH_LISTEN_PORT: 'eighty' }),
      ERROR_CODES.config,
    ],
    ['an unknown orchestrator argument', () => parseMainArgs(['--verbose']), ERROR_CODES.usage],
    ['a missing --config', () => parseMainArgs([]), ERROR_CODES.usage],
    ['a bad npm start option', () => parseStartArgs(['--replicas', '0']), ERROR_CODES.usage],
    [
      'a Docker replica without an image',
      () =>
        createRequest(
          { pool: 'acts', port: 1, internalPort: 1, env: {}, specHash: 'h' },
          {},
          'o',
          '127.0.0.1',
        ),
      ERROR_CODES.replicaSpec,
    ],
  ])('%s', (_what, action, code) => {
    expect(codeOf(action)).toBe(code);
  });

  test('a process replica without a command, and one whose command cannot be spawned', async () => {
    const runtime = createProcessRuntime({
      cwd: os.tmpdir(),
      logDir: mkdtempSync(path.join(os.tmpdir(), 'orch-err-')),
    });
    const started = runtime.start({ pool: 'acts', port: 1, internalPort: 1, env: {}, specHash: 'h' });
    await expect(started.catch(errorCode)).resolves.toBe(ERROR_CODES.replicaSpec);
    expect(await runtime.list()).toEqual([]);
    const unspawnable = runtime.start({
      pool: 'acts',
      port: 1,
      internalPort: 1,
      command: ['/nonexistent/binary'],
      env: {},
      specHash: 'h',
    });
    await expect(unspawnable.catch(errorCode)).resolves.toBe(ERROR_CODES.replicaStart);
  });

  test('every code is distinct and in the ORCH_ERR_ namespace', () => {
    const codes = Object.values(ERROR_CODES);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^ORCH_ERR_[A-Z_]+$/);
  });

  test('an error that is not ours has no code', () => {
    expect(errorCode(new Error('plain'))).toBeUndefined();
  });
});
