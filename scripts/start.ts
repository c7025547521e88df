/**
 * `npm start`: the whole system on one machine. The orchestrator is the front door (routing
 * like the cloud load balancer), with a users pool and an acts pool of local processes (or
 * containers) sharing SQLite files under the data directory. Ctrl-C removes everything it
 * started.
 */
import { appendFileSync, chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseConfig, type OrchestratorConfig } from '../orchestrator/config';
import { createLogger, type Logger } from '../orchestrator/log';
import { createRuntime } from '../orchestrator/main';
import { bundledServiceCommand } from './services-bundle';
import { startOrchestrator, type Orchestrator } from '../orchestrator/orchestrator';
import type { PoolStatus } from '../orchestrator/admin';

export interface StartOptions {
  port: number;
  runtime: 'process' | 'docker';
  /** Fixed acts replica count (autoscaling off), or undefined to autoscale. */
  replicas: number | undefined;
  windowSeconds: number;
  dataDir: string;
  databaseUrl: string | undefined;
  actsFirstPort: number;
  usersFirstPort: number;
  adminPort: number;
}

export const USAGE = `Usage: npm start -- [options]

Runs the whole system on this machine: the orchestrator as front door, a users pool and an
acts pool, and the web UI.

  --port N               front-door port (default 8080)
  --runtime KIND         process (default): replicas as local processes;
                         docker: containers on the local Docker engine (images built if missing)
  --replicas N           fix the acts pool at N replicas (autoscaling off)
  --window-seconds N     autoscaling window (default 120)
  --data-dir DIR         SQLite files and logs (default ./data)
  --database-url URL     use this database instead of SQLite files, e.g.
                         mysql://root@127.0.0.1:3306/selfieless (each service gets its own
                         database: <name>_users and <name>_acts)
  --acts-first-port N    first acts replica port (default 8000)
  --users-first-port N   first users replica port (default 8100)
  --admin-port N         status and metrics on 127.0.0.1 (default 9090; 0 = any free port)
  --help                 this text
`;

class UsageError extends Error {}

function integerOption(name: string, raw: string | undefined, min: number, max: number): number {
  const n = Number(raw);
  if (raw === undefined || raw === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(
      `${name} needs a whole number between ${min} and ${max}, got ${JSON.stringify(raw ?? '')}`,
    );
  }
  return n;
}

/** Returns undefined when --help was asked for. */
export function parseStartArgs(argv: string[]): StartOptions | undefined {
  const options: StartOptions = {
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
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--help':
      case '-h':
        return undefined;
      case '--port':
        options.port = integerOption(flag, value(), 1, 65535);
        break;
      case '--runtime': {
        const kind = value();
        if (kind !== 'process' && kind !== 'docker')
          throw new UsageError(`--runtime must be process or docker, got ${JSON.stringify(kind ?? '')}`);
        options.runtime = kind;
        break;
      }
      case '--replicas':
        options.replicas = integerOption(flag, value(), 1, 10);
        break;
      case '--window-seconds':
        options.windowSeconds = integerOption(flag, value(), 1, 86_400);
        break;
      case '--data-dir': {
        const dir = value();
        if (!dir) throw new UsageError('--data-dir needs a directory');
        options.dataDir = dir;
        break;
      }
      case '--database-url': {
        const url = value();
        if (!url || !/^(mysql:\/\/|sqlite:)/.test(url))
          throw new UsageError('--database-url needs a mysql://... or sqlite:... URL');
        options.databaseUrl = url;
        break;
      }
      case '--acts-first-port':
        options.actsFirstPort = integerOption(flag, value(), 1, 65526);
        break;
      case '--users-first-port':
        options.usersFirstPort = integerOption(flag, value(), 1, 65526);
        break;
      case '--admin-port':
        options.adminPort = integerOption(flag, value(), 0, 65535);
        break;
      default:
        throw new UsageError(`unknown option ${JSON.stringify(arg)}`);
    }
  }
  return options;
}

/** One database per service, derived from a shared URL, so their schemas never meet. */
export function serviceDatabaseUrl(base: string, service: 'users' | 'acts'): string {
  if (base.startsWith('sqlite:')) {
    const file = base.slice('sqlite:'.length);
    const ext = path.extname(file);
    return `sqlite:${file.slice(0, file.length - ext.length)}-${service}${ext || '.db'}`;
  }
  const url = new URL(base);
  const name = url.pathname.replace(/^\//, '') || 'selfieless';
  url.pathname = `/${name}_${service}`;
  return url.toString();
}

const MAX_REPLICAS = 10;

/** The orchestrator configuration for this machine, built in memory. */
export function buildStartConfig(options: StartOptions, staticDir: string | undefined): OrchestratorConfig {
  const dataDir = path.resolve(options.dataDir);
  const docker = options.runtime === 'docker';
  const databaseUrl = (service: 'users' | 'acts') =>
    options.databaseUrl
      ? serviceDatabaseUrl(options.databaseUrl, service)
      : docker
        ? `sqlite:/data/${service}.db`
        : `sqlite:${path.join(dataDir, `${service}.db`)}`;
  const servicePool = (service: 'users' | 'acts', firstPort: number, internalPort: number) => ({
    name: service,
    ...(docker
      ? { image: `${service}:latest`, internalPort, mounts: [{ source: dataDir, target: '/data' }] }
      : {}),
    ...(!docker ? { command: bundledServiceCommand(service) } : {}),
    firstPort,
    minReplicas: 1,
    maxReplicas: MAX_REPLICAS,
  });
  return parseConfig({
    listen: { host: '127.0.0.1', port: options.port },
    admin: { host: '127.0.0.1', port: options.adminPort },
    runtime: docker
      ? { kind: 'docker', publishHost: '127.0.0.1' }
      : { kind: 'process', logDir: path.join(dataDir, 'logs') },
    scaling: { windowSeconds: options.windowSeconds, requestsPerReplica: 20 },
    ...(staticDir ? { staticDir } : {}),
    teardownOnExit: true,
    pools: [
      {
        ...servicePool('users', options.usersFirstPort, 8100),
        pathPrefixes: ['/api/v1/users'],
        env: { DATABASE_URL: databaseUrl('users') },
      },
      {
        ...servicePool('acts', options.actsFirstPort, 8000),
        ...(options.replicas !== undefined
          ? { minReplicas: options.replicas, maxReplicas: options.replicas, autoscale: false }
          : {}),
        pathPrefixes: ['/api/v1/'],
        env: {
          DATABASE_URL: databaseUrl('acts'),
          // Loopback URLs reach containers too: the Docker runtime relays them.
          USERS_URL: `http://127.0.0.1:${options.port}`,
          PUBLIC_ORIGIN: `http://localhost:${options.port}`,
        },
      },
    ],
  });
}

function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(true));
    // The wildcard address collides with a listener on any local address, loopback included.
    probe.listen({ port, host: '0.0.0.0', exclusive: true }, () => probe.close(() => resolve(false)));
  });
}

/** Every port this run may bind, with what it is for; the taken ones. */
export async function takenPorts(config: OrchestratorConfig): Promise<string[]> {
  const wanted: Array<[number, string]> = [[config.listen.port, 'front door']];
  if (config.admin.port !== 0) wanted.push([config.admin.port, 'admin']);
  for (const pool of config.pools) {
    for (let i = 0; i < pool.maxReplicas; i++)
      wanted.push([pool.firstPort + i, `${pool.name} replica ${i + 1}`]);
  }
  const taken: string[] = [];
  for (const [port, what] of wanted) if (await portTaken(port)) taken.push(`${port} (${what})`);
  return taken;
}

/** The SQLite files npm start keeps under the data directory, with their WAL journals. */
function sqliteFilesIn(dataDir: string): string[] {
  return ['users', 'acts'].flatMap((service) =>
    ['.db', '.db-wal', '.db-shm'].map((suffix) => path.join(dataDir, service + suffix)),
  );
}

/**
 * The service images run as an unprivileged user whose uid need not own the data directory
 * on the host. SQLite must create its files and journals there, and write the ones an earlier
 * `--runtime process` run created, so the directory is opened up (1777) and existing database
 * files are made writable for everyone. Only the files npm start itself uses are touched.
 */
export function shareDataDirWithContainers(dataDir: string, say: (line: string) => void): void {
  if ((statSync(dataDir).mode & 0o1777) !== 0o1777) {
    chmodSync(dataDir, 0o1777);
    say(`data directory ${dataDir} made writable for the containers' user (mode 1777)`);
  }
  for (const file of sqliteFilesIn(dataDir)) {
    if (!existsSync(file) || (statSync(file).mode & 0o666) === 0o666) continue;
    try {
      chmodSync(file, 0o666);
    } catch (error) {
      throw new Error(
        `${file} is not writable for the containers' user and cannot be changed (${(error as Error).message}); ` +
          'fix its permissions or choose another --data-dir',
        { cause: error },
      );
    }
  }
}

async function buildStatic(say: (line: string) => void): Promise<string | undefined> {
  let buildWeb: (() => Promise<string>) | undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    buildWeb = (require('./build-web') as { buildWeb: () => Promise<string> }).buildWeb;
  } catch {
    say('web UI: no build script found; / will answer OK without the UI');
    return undefined;
  }
  say('building the web UI…');
  return buildWeb();
}

async function prepareImages(say: (line: string) => void): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ensureImages } = require('./image-builder') as {
    ensureImages: (o: { log: (line: string) => void }) => Promise<void>;
  };
  say('checking the users and acts images…');
  await ensureImages({ log: (line) => say(`  ${line}`) });
}

/** Prints each replica's change of health until every pool's first replica is in rotation. */
function reportProgress(
  orchestrator: Orchestrator,
  say: (line: string) => void,
  onReady: () => void,
): () => void {
  const seen = new Map<string, string>();
  let ready = false;
  const timer = setInterval(() => {
    const pools: PoolStatus[] = orchestrator.status().pools;
    for (const pool of pools) {
      for (const r of pool.replicas) {
        const key = `${pool.name}:${r.port}`;
        const now = r.inRotation ? 'ready' : r.state;
        if (seen.get(key) !== now) {
          seen.set(key, now);
          say(`  ${pool.name.padEnd(5)} :${r.port}  ${now}${now === 'ready' ? '' : '…'}`);
        }
      }
    }
    if (!ready && pools.every((p) => p.replicas.some((r) => r.inRotation))) {
      ready = true;
      onReady();
    }
  }, 200);
  timer.unref();
  return () => clearInterval(timer);
}

async function main(): Promise<void> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  // When the terminal or pipe that started us is gone, a progress line must not crash the
  // process before it has stopped the replicas it started.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  let options: StartOptions | undefined;
  try {
    options = parseStartArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`npm start: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (!options) {
    say(USAGE);
    return;
  }

  const dataDir = path.resolve(options.dataDir);
  const logDir = path.join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, 'orchestrator.log');
  const logger: Logger = createLogger('orchestrator', 'info', (line) => appendFileSync(logFile, line + '\n'));

  // Ports first: refuse before building or starting anything.
  const taken = await takenPorts(buildStartConfig(options, undefined));
  if (taken.length > 0) {
    process.stderr.write(
      `npm start: these ports are already in use: ${taken.join(', ')}.\n` +
        'Stop whatever listens there (perhaps another `npm start`), or choose other ports (see --help).\n',
    );
    process.exit(1);
  }

  if (options.runtime === 'docker') {
    await prepareImages(say);
    shareDataDirWithContainers(dataDir, say);
  }
  const staticDir = await buildStatic(say);
  const config = buildStartConfig(options, staticDir);
  const runtime = createRuntime(config, logger);
  say(`starting ${options.runtime === 'docker' ? 'containers' : 'processes'} (logs in ${logDir})…`);

  let orchestrator: Orchestrator;
  try {
    orchestrator = await startOrchestrator(config, { runtime, runtimeName: config.runtime.kind, logger });
  } catch (err) {
    process.stderr.write(`npm start: ${(err as Error).message}\n`);
    await runtime.close().catch(() => undefined);
    process.exit(1);
  }

  const stopProgress = reportProgress(orchestrator, say, () => {
    say('');
    say(`Ready: open http://localhost:${orchestrator.frontDoorPort}`);
    say(
      `Status: http://127.0.0.1:${orchestrator.adminPort}/status   Metrics: http://127.0.0.1:${orchestrator.adminPort}/metrics`,
    );
    say('Press Ctrl-C to stop.');
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // npm and tsx relay the terminal's Ctrl-C too, so one keypress can arrive more than once.
    if (stopping) return;
    stopping = true;
    stopProgress();
    say(`\n${signal}: stopping every replica…`);
    orchestrator
      .stop({ teardown: true })
      .then(() => runtime.removeAll?.())
      .then(
        () => {
          say('stopped.');
          process.exit(0);
        },
        (err: Error) => {
          process.stderr.write(`npm start: stopping failed: ${err.message}\n`);
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', stop);
}

if (require.main === module) {
  // Anything not already reported (no Docker engine, an image build that failed, a data
  // directory the containers cannot use) ends in one clear line, not a stack trace.
  main().catch((err: Error) => {
    process.stderr.write(`npm start: ${err.message}\n`);
    process.exit(1);
  });
}
