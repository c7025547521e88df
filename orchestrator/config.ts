/**
 * The orchestrator's one JSON configuration file: parsed and validated eagerly, so a typo
 * fails at start with the field's path and what was wrong, never later at run time.
 */
import { readFileSync } from 'node:fs';
import { REPLICA_LIMITS, ORCHESTRATOR_OWNER } from '../common/topology';
import { ConfigError } from './errors';

export { ConfigError } from './errors';

export interface PoolConfig {
  name: string;
  /** Docker runtime: image reference. */
  image?: string;
  /** Process runtime: argv of the service entry point. */
  command?: string[];
  firstPort: number;
  internalPort: number;
  env: Record<string, string>;
  mounts: { source: string; target: string }[];
  minReplicas: number;
  maxReplicas: number;
  autoscale: boolean;
  pathPrefixes: string[];
}

export interface HealthConfig {
  intervalMs: number;
  timeoutMs: number;
  failureThreshold: number;
  startupGraceMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
}

export type RuntimeConfig =
  { kind: 'docker'; publishHost: string; owner: string } | { kind: 'process'; logDir: string };

export interface OrchestratorConfig {
  listen: { host: string; port: number };
  admin: { host: string; port: number };
  runtime: RuntimeConfig;
  health: HealthConfig;
  scaling: { windowSeconds: number; requestsPerReplica: number };
  staticDir?: string;
  teardownOnExit: boolean;
  pools: PoolConfig[];
}

export const DEFAULT_HEALTH: HealthConfig = {
  intervalMs: 1000,
  timeoutMs: 800,
  failureThreshold: 3,
  startupGraceMs: 15000,
  backoffInitialMs: 1000,
  backoffMaxMs: 30000,
};

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/** Reads fields of one JSON object, each check naming the full path of the field. */
class Reader {
  constructor(
    private readonly obj: Obj,
    private readonly path: string,
    allowed: readonly string[],
  ) {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key))
        throw new ConfigError(this.at(key), `is not a known field (known: ${allowed.join(', ')})`);
    }
  }

  at(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined;
  }

  object(key: string, allowed: readonly string[]): Reader {
    const v = this.obj[key];
    if (v === undefined) return new Reader({}, this.at(key), allowed);
    if (!isObject(v)) throw new ConfigError(this.at(key), `must be an object, got ${describe(v)}`);
    return new Reader(v, this.at(key), allowed);
  }

  string(key: string, fallback?: string): string {
    const v = this.obj[key];
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(this.at(key), 'is required');
    }
    if (typeof v !== 'string' || v.length === 0)
      throw new ConfigError(this.at(key), `must be a non-empty string, got ${describe(v)}`);
    return v;
  }

  optionalString(key: string): string | undefined {
    return this.obj[key] === undefined ? undefined : this.string(key);
  }

  integer(key: string, fallback: number | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.obj[key];
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(this.at(key), 'is required');
    }
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw new ConfigError(this.at(key), `must be an integer, got ${describe(v)}`);
    if (v < min || v > max)
      throw new ConfigError(this.at(key), `must be between ${min} and ${max}, got ${v}`);
    return v;
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.obj[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean')
      throw new ConfigError(this.at(key), `must be true or false, got ${describe(v)}`);
    return v;
  }

  stringArray(key: string, fallback: string[] | undefined, nonEmpty: boolean): string[] {
    const v = this.obj[key];
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(this.at(key), 'is required');
    }
    if (!Array.isArray(v))
      throw new ConfigError(this.at(key), `must be an array of strings, got ${describe(v)}`);
    if (nonEmpty && v.length === 0) throw new ConfigError(this.at(key), 'must not be empty');
    v.forEach((item, i) => {
      if (typeof item !== 'string' || item.length === 0) {
        throw new ConfigError(`${this.at(key)}[${i}]`, `must be a non-empty string, got ${describe(item)}`);
      }
    });
    return [...(v as string[])];
  }

  stringMap(key: string): Record<string, string> {
    const v = this.obj[key];
    if (v === undefined) return {};
    if (!isObject(v)) throw new ConfigError(this.at(key), `must be an object of strings, got ${describe(v)}`);
    for (const [k, item] of Object.entries(v)) {
      if (typeof item !== 'string')
        throw new ConfigError(`${this.at(key)}.${k}`, `must be a string, got ${describe(item)}`);
    }
    return { ...(v as Record<string, string>) };
  }

  array(key: string): unknown[] {
    const v = this.obj[key];
    if (v === undefined) throw new ConfigError(this.at(key), 'is required');
    if (!Array.isArray(v)) throw new ConfigError(this.at(key), `must be an array, got ${describe(v)}`);
    return v;
  }
}

const PORT_MAX = 65535;
const POOL_FIELDS = [
  'name',
  'image',
  'command',
  'firstPort',
  'internalPort',
  'env',
  'mounts',
  'minReplicas',
  'maxReplicas',
  'autoscale',
  'pathPrefixes',
] as const;

function parsePool(raw: unknown, path: string, runtimeKind: RuntimeConfig['kind']): PoolConfig {
  if (!isObject(raw)) throw new ConfigError(path, `must be an object, got ${describe(raw)}`);
  const r = new Reader(raw, path, POOL_FIELDS);
  const name = r.string('name');
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) {
    throw new ConfigError(
      r.at('name'),
      `must be lower-case letters, digits, "-" or "_", got ${describe(name)}`,
    );
  }
  const image = r.optionalString('image');
  const command = r.has('command') ? r.stringArray('command', undefined, true) : undefined;
  if (runtimeKind === 'docker' && image === undefined)
    throw new ConfigError(r.at('image'), 'is required with runtime.kind "docker"');
  if (runtimeKind === 'process' && command === undefined)
    throw new ConfigError(r.at('command'), 'is required with runtime.kind "process"');
  const firstPort = r.integer('firstPort', undefined, 1, PORT_MAX);
  const internalPort = r.integer('internalPort', firstPort, 1, PORT_MAX);
  const minReplicas = r.integer('minReplicas', REPLICA_LIMITS.min, 1);
  const maxReplicas = r.integer('maxReplicas', REPLICA_LIMITS.max, 1);
  if (maxReplicas < minReplicas)
    throw new ConfigError(
      r.at('maxReplicas'),
      `must be at least minReplicas (${minReplicas}), got ${maxReplicas}`,
    );
  if (firstPort + maxReplicas - 1 > PORT_MAX)
    throw new ConfigError(r.at('maxReplicas'), `puts the last port above ${PORT_MAX}`);
  const mounts = (r.has('mounts') ? r.array('mounts') : []).map((m, i) => {
    const mpath = `${r.at('mounts')}[${i}]`;
    if (!isObject(m)) throw new ConfigError(mpath, `must be an object, got ${describe(m)}`);
    const mr = new Reader(m, mpath, ['source', 'target']);
    return { source: mr.string('source'), target: mr.string('target') };
  });
  const pathPrefixes = r.stringArray('pathPrefixes', ['/api/v1/'], true);
  pathPrefixes.forEach((p, i) => {
    if (!p.startsWith('/'))
      throw new ConfigError(`${r.at('pathPrefixes')}[${i}]`, `must start with "/", got ${describe(p)}`);
  });
  return {
    name,
    ...(image !== undefined ? { image } : {}),
    ...(command !== undefined ? { command } : {}),
    firstPort,
    internalPort,
    env: r.stringMap('env'),
    mounts,
    minReplicas,
    maxReplicas,
    autoscale: r.boolean('autoscale', true),
    pathPrefixes,
  };
}

function portRanges(pools: PoolConfig[]): void {
  for (let i = 0; i < pools.length; i++) {
    for (let j = i + 1; j < pools.length; j++) {
      const a = pools[i]!;
      const b = pools[j]!;
      if (a.name === b.name)
        throw new ConfigError(`pools[${j}].name`, `duplicates pools[${i}].name ${describe(a.name)}`);
      const overlap =
        a.firstPort <= b.firstPort + b.maxReplicas - 1 && b.firstPort <= a.firstPort + a.maxReplicas - 1;
      if (overlap) {
        throw new ConfigError(
          `pools[${j}].firstPort`,
          `port range ${b.firstPort}-${b.firstPort + b.maxReplicas - 1} overlaps pool "${a.name}" (${a.firstPort}-${a.firstPort + a.maxReplicas - 1})`,
        );
      }
    }
  }
}

/** Validates an already-parsed JSON value and fills in every default. */
export function parseConfig(raw: unknown): OrchestratorConfig {
  if (!isObject(raw)) throw new ConfigError('(root)', `must be a JSON object, got ${describe(raw)}`);
  const root = new Reader(raw, '', [
    'listen',
    'admin',
    'runtime',
    'health',
    'scaling',
    'staticDir',
    'teardownOnExit',
    'pools',
  ]);

  const listenR = root.object('listen', ['host', 'port']);
  const adminR = root.object('admin', ['host', 'port']);
  const runtimeR = root.object('runtime', ['kind', 'publishHost', 'owner', 'logDir']);
  const kind = runtimeR.string('kind', 'docker');
  if (kind !== 'docker' && kind !== 'process')
    throw new ConfigError('runtime.kind', `must be "docker" or "process", got ${describe(kind)}`);
  let runtime: RuntimeConfig;
  if (kind === 'docker') {
    if (runtimeR.has('logDir'))
      throw new ConfigError('runtime.logDir', 'applies only to runtime.kind "process"');
    // Two orchestrators on one engine (say, a test beside a running system) must not take each
    // other's containers for strays: each one owns only containers carrying its owner label.
    runtime = {
      kind,
      publishHost: runtimeR.string('publishHost', '127.0.0.1'),
      owner: runtimeR.string('owner', ORCHESTRATOR_OWNER),
    };
  } else {
    if (runtimeR.has('publishHost'))
      throw new ConfigError('runtime.publishHost', 'applies only to runtime.kind "docker"');
    if (runtimeR.has('owner'))
      throw new ConfigError('runtime.owner', 'applies only to runtime.kind "docker"');
    runtime = { kind, logDir: runtimeR.string('logDir', 'data/logs') };
  }

  const hr = root.object('health', Object.keys(DEFAULT_HEALTH));
  const health: HealthConfig = {
    intervalMs: hr.integer('intervalMs', DEFAULT_HEALTH.intervalMs, 10),
    timeoutMs: hr.integer('timeoutMs', DEFAULT_HEALTH.timeoutMs, 1),
    failureThreshold: hr.integer('failureThreshold', DEFAULT_HEALTH.failureThreshold, 1),
    startupGraceMs: hr.integer('startupGraceMs', DEFAULT_HEALTH.startupGraceMs, 0),
    backoffInitialMs: hr.integer('backoffInitialMs', DEFAULT_HEALTH.backoffInitialMs, 0),
    backoffMaxMs: hr.integer('backoffMaxMs', DEFAULT_HEALTH.backoffMaxMs, 0),
  };
  if (health.timeoutMs >= health.intervalMs) {
    throw new ConfigError(
      'health.timeoutMs',
      `must be below health.intervalMs (${health.intervalMs}), got ${health.timeoutMs}`,
    );
  }
  if (health.backoffMaxMs < health.backoffInitialMs) {
    throw new ConfigError(
      'health.backoffMaxMs',
      `must be at least health.backoffInitialMs (${health.backoffInitialMs}), got ${health.backoffMaxMs}`,
    );
  }

  const sr = root.object('scaling', ['windowSeconds', 'requestsPerReplica']);
  const scaling = {
    windowSeconds: sr.integer('windowSeconds', 120, 1),
    requestsPerReplica: sr.integer('requestsPerReplica', 20, 1),
  };

  const poolsRaw = root.array('pools');
  if (poolsRaw.length === 0) throw new ConfigError('pools', 'must list at least one pool');
  const pools = poolsRaw.map((p, i) => parsePool(p, `pools[${i}]`, kind));
  portRanges(pools);

  const listen = { host: listenR.string('host', '0.0.0.0'), port: listenR.integer('port', 80, 0, PORT_MAX) };
  const admin = { host: adminR.string('host', '127.0.0.1'), port: adminR.integer('port', 9090, 0, PORT_MAX) };
  const staticDir = root.optionalString('staticDir');
  return {
    listen,
    admin,
    runtime,
    health,
    scaling,
    ...(staticDir !== undefined ? { staticDir } : {}),
    teardownOnExit: root.boolean('teardownOnExit', false),
    pools,
  };
}

/** Reads and validates a config file; a syntax error names the file. */
export function loadConfigFile(file: string): OrchestratorConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('(file)', `${file} cannot be read: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('(file)', `${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(raw);
}

function envPort(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new ConfigError(name, `must be a port number, got ${JSON.stringify(raw)}`);
  return n;
}

/** The few per-host values an operator sets in the environment instead of the file. */
export function applyEnvOverrides(config: OrchestratorConfig, env: NodeJS.ProcessEnv): OrchestratorConfig {
  const listenPort = envPort(env, 'ORCH_LISTEN_PORT');
  const adminPort = envPort(env, 'ORCH_ADMIN_PORT');
  const windowRaw = env.ORCH_WINDOW_SECONDS;
  let windowSeconds = config.scaling.windowSeconds;
  if (windowRaw !== undefined && windowRaw !== '') {
    windowSeconds = Number(windowRaw);
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) {
      throw new ConfigError(
        'ORCH_WINDOW_SECONDS',
        `must be a whole number of seconds ≥ 1, got ${JSON.stringify(windowRaw)}`,
      );
    }
  }
  let runtime = config.runtime;
  if (env.ORCH_PUBLISH_HOST) {
    if (runtime.kind !== 'docker')
      throw new ConfigError('ORCH_PUBLISH_HOST', 'applies only to runtime.kind "docker"');
    runtime = { ...runtime, publishHost: env.ORCH_PUBLISH_HOST };
  }
  return {
    ...config,
    listen: { ...config.listen, ...(listenPort !== undefined ? { port: listenPort } : {}) },
    admin: { ...config.admin, ...(adminPort !== undefined ? { port: adminPort } : {}) },
    scaling: { ...config.scaling, windowSeconds },
    runtime,
  };
}
