import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfigFile, parseConfig } from '../../orchestrator/config';
import { applyEnvOverrides } from '../../orchestrator/config';

const dockerPool = { name: 'acts', image: 'acts:latest', firstPort: 8000 };
const minimal = { pools: [dockerPool] };

function errorOf(raw: unknown): ConfigError {
  try {
    parseConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  test('fills every default from a minimal file', () => {
    expect(parseConfig(minimal)).toEqual({
      listen: { host: '0.0.0.0', port: 80 },
      admin: { host: '127.0.0.1', port: 9090 },
      runtime: { kind: 'docker', publishHost: '127.0.0.1', owner: 'orchestrator' },
      health: {
        intervalMs: 1000,
        timeoutMs: 800,
        failureThreshold: 3,
        startupGraceMs: 15000,
        backoffInitialMs: 1000,
        backoffMaxMs: 30000,
      },
      scaling: { windowSeconds: 120, requestsPerReplica: 20 },
      teardownOnExit: false,
      pools: [
        {
          name: 'acts',
          image: 'acts:latest',
          firstPort: 8000,
          internalPort: 8000,
          env: {},
          mounts: [],
          minReplicas: 1,
          maxReplicas: 10,
          autoscale: true,
          pathPrefixes: ['/api/v1/'],
        },
      ],
    });
  });

  test('keeps every given value of the documented example', () => {
    const config = parseConfig({
      listen: { host: '0.0.0.0', port: 80 },
      admin: { host: '127.0.0.1', port: 9090 },
      runtime: { kind: 'docker', publishHost: '0.0.0.0' },
      health: {
        intervalMs: 1000,
        timeoutMs: 800,
        failureThreshold: 3,
        startupGraceMs: 15000,
        backoffInitialMs: 1000,
        backoffMaxMs: 30000,
      },
      scaling: { windowSeconds: 120, requestsPerReplica: 20 },
      staticDir: 'web/dist',
      teardownOnExit: false,
      pools: [
        {
          name: 'acts',
          image: 'acts:latest',
          firstPort: 8000,
          internalPort: 8000,
          env: {
            DATABASE_URL: 'mysql://root:secret@172.17.0.1:3306/acts',
            USERS_URL: 'http://lb',
            PUBLIC_ORIGIN: 'http://1.2.3.4',
          },
          mounts: [],
          minReplicas: 1,
          maxReplicas: 10,
          autoscale: true,
          pathPrefixes: ['/api/v1/'],
        },
      ],
    });
    expect(config.runtime).toEqual({ kind: 'docker', publishHost: '0.0.0.0', owner: 'orchestrator' });
    expect(config.staticDir).toBe('web/dist');
    expect(config.pools[0]!.env.USERS_URL).toBe('http://lb');
  });

  test('a process runtime needs commands and defaults its log directory', () => {
    const config = parseConfig({
      runtime: { kind: 'process' },
      pools: [{ name: 'users', command: ['node', 'x.js'], firstPort: 8100, pathPrefixes: ['/api/v1/users'] }],
    });
    expect(config.runtime).toEqual({ kind: 'process', logDir: 'data/logs' });
    expect(config.pools[0]!.command).toEqual(['node', 'x.js']);
  });

  test.each<[string, unknown, string, RegExp]>([
    ['not an object', [], '(root)', /JSON object/],
    ['no pools', {}, 'pools', /required/],
    ['empty pools', { pools: [] }, 'pools', /at least one/],
    ['unknown top-level field', { ...minimal, listne: {} }, 'listne', /not a known field/],
    ['listen port as a string', { ...minimal, listen: { port: '80' } }, 'listen.port', /integer/],
    [
      'listen port out of range',
      { ...minimal, listen: { port: 70000 } },
      'listen.port',
      /between 0 and 65535/,
    ],
    [
      'unknown runtime kind',
      { ...minimal, runtime: { kind: 'podman' } },
      'runtime.kind',
      /"docker" or "process"/,
    ],
    [
      'docker pool without image',
      { pools: [{ name: 'acts', firstPort: 8000 }] },
      'pools[0].image',
      /required/,
    ],
    [
      'process pool without command',
      { runtime: { kind: 'process' }, pools: [dockerPool] },
      'pools[0].command',
      /required/,
    ],
    [
      'command not an array',
      { runtime: { kind: 'process' }, pools: [{ name: 'a', firstPort: 8000, command: 'node x' }] },
      'pools[0].command',
      /array of strings/,
    ],
    [
      'empty command',
      { runtime: { kind: 'process' }, pools: [{ name: 'a', firstPort: 8000, command: [] }] },
      'pools[0].command',
      /must not be empty/,
    ],
    [
      'publishHost on a process runtime',
      { runtime: { kind: 'process', publishHost: '0.0.0.0' }, pools: [dockerPool] },
      'runtime.publishHost',
      /only/,
    ],
    [
      'owner on a process runtime',
      { runtime: { kind: 'process', owner: 'tests' }, pools: [dockerPool] },
      'runtime.owner',
      /only/,
    ],
    [
      'owner not a string',
      { runtime: { kind: 'docker', owner: 7 }, pools: [dockerPool] },
      'runtime.owner',
      /string/,
    ],
    [
      'max below min',
      { pools: [{ ...dockerPool, minReplicas: 3, maxReplicas: 2 }] },
      'pools[0].maxReplicas',
      /at least minReplicas/,
    ],
    [
      'zero min replicas',
      { pools: [{ ...dockerPool, minReplicas: 0 }] },
      'pools[0].minReplicas',
      /between 1/,
    ],
    [
      'fractional first port',
      { pools: [{ ...dockerPool, firstPort: 8000.5 }] },
      'pools[0].firstPort',
      /integer/,
    ],
    ['missing first port', { pools: [{ name: 'acts', image: 'acts' }] }, 'pools[0].firstPort', /required/],
    [
      'env value not a string',
      { pools: [{ ...dockerPool, env: { PORT: 1 } }] },
      'pools[0].env.PORT',
      /string/,
    ],
    [
      'prefix without slash',
      { pools: [{ ...dockerPool, pathPrefixes: ['api/v1'] }] },
      'pools[0].pathPrefixes[0]',
      /start with "\/"/,
    ],
    [
      'mount without target',
      { pools: [{ ...dockerPool, mounts: [{ source: '/data' }] }] },
      'pools[0].mounts[0].target',
      /required/,
    ],
    ['bad pool name', { pools: [{ ...dockerPool, name: 'Acts Pool' }] }, 'pools[0].name', /lower-case/],
    [
      'timeout not below interval',
      { ...minimal, health: { intervalMs: 1000, timeoutMs: 1000 } },
      'health.timeoutMs',
      /below health.intervalMs/,
    ],
    [
      'backoff cap below start',
      { ...minimal, health: { backoffInitialMs: 5000, backoffMaxMs: 1000 } },
      'health.backoffMaxMs',
      /at least/,
    ],
    ['zero window', { ...minimal, scaling: { windowSeconds: 0 } }, 'scaling.windowSeconds', /between 1/],
    ['teardownOnExit as a string', { ...minimal, teardownOnExit: 'yes' }, 'teardownOnExit', /true or false/],
    [
      'duplicate pool names',
      { pools: [dockerPool, { ...dockerPool, firstPort: 9000 }] },
      'pools[1].name',
      /duplicates/,
    ],
    [
      'overlapping port ranges',
      { pools: [dockerPool, { ...dockerPool, name: 'users', firstPort: 8005 }] },
      'pools[1].firstPort',
      /overlaps pool "acts"/,
    ],
  ])('rejects %s, naming the field', (_name, raw, field, problem) => {
    const err = errorOf(raw);
    expect(err.field).toBe(field);
    expect(err.message).toMatch(problem);
    expect(err.message).toContain(field);
  });
});

describe('loadConfigFile', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orch-config-'));

  test('reads a valid file', () => {
    const file = path.join(dir, 'ok.json');
    writeFileSync(file, JSON.stringify(minimal));
    expect(loadConfigFile(file).pools[0]!.name).toBe('acts');
  });

  test('names the file when its JSON is broken', () => {
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{"pools": [');
    expect(() => loadConfigFile(file)).toThrow(/broken\.json is not valid JSON/);
  });

  test('names the file when it is missing', () => {
    expect(() => loadConfigFile(path.join(dir, 'nope.json'))).toThrow(/nope\.json cannot be read/);
  });
});

describe('applyEnvOverrides', () => {
  const base = parseConfig(minimal);

  test('overrides listen port, admin port, window and publish host', () => {
    const config = applyEnvOverrides(base, {
      ORCH_LISTEN_PORT: '8080',
      ORCH_ADMIN_PORT: '9191',
      ORCH_WINDOW_SECONDS: '5',
      ORCH_PUBLISH_HOST: '0.0.0.0',
    });
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.admin).toEqual({ host: '127.0.0.1', port: 9191 });
    expect(config.scaling.windowSeconds).toBe(5);
    expect(config.runtime).toEqual({ kind: 'docker', publishHost: '0.0.0.0', owner: 'orchestrator' });
  });

  test('leaves the file values alone without variables', () => {
    expect(applyEnvOverrides(base, {})).toEqual(base);
  });

  test.each([
    [{ ORCH_LISTEN_PORT: 'eighty' }, /ORCH_LISTEN_PORT/],
    [{ ORCH_ADMIN_PORT: '99999' }, /ORCH_ADMIN_PORT/],
    [{ ORCH_WINDOW_SECONDS: '0' }, /ORCH_WINDOW_SECONDS/],
  ])('rejects %o', (env, problem) => {
    expect(() => applyEnvOverrides(base, env)).toThrow(problem);
  });
});
