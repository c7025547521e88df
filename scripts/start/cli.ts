/** `npm start`'s command line: options with the topology's defaults, and the usage text. */
import { LOCAL_PORTS, REPLICA_LIMITS, SERVICES } from '../../common/topology';
import { UsageError } from '../../orchestrator/errors';

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

  --port N               front-door port (default ${LOCAL_PORTS.frontDoor})
  --runtime KIND         process (default): replicas as local processes;
                         docker: containers on the local Docker engine (images built if missing)
  --replicas N           fix the acts pool at N replicas (autoscaling off)
  --window-seconds N     autoscaling window (default 120)
  --data-dir DIR         SQLite files and logs (default ./data)
  --database-url URL     use this database instead of SQLite files, e.g.
                         mysql://root@127.0.0.1:3306/selfieless (each service gets its own
                         database: <name>_users and <name>_acts)
  --acts-first-port N    first acts replica port (default ${SERVICES.acts.firstPort})
  --users-first-port N   first users replica port (default ${SERVICES.users.firstPort})
  --admin-port N         status and metrics on 127.0.0.1 (default ${LOCAL_PORTS.admin}; 0 = any free port)
  --help                 this text
`;

/** A pool's ports must all fit below 65536. */
const LAST_FIRST_PORT = 65536 - REPLICA_LIMITS.max;

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
    port: LOCAL_PORTS.frontDoor,
    runtime: 'process',
    replicas: undefined,
    windowSeconds: 120,
    dataDir: './data',
    databaseUrl: undefined,
    actsFirstPort: SERVICES.acts.firstPort,
    usersFirstPort: SERVICES.users.firstPort,
    adminPort: LOCAL_PORTS.admin,
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
        options.replicas = integerOption(flag, value(), REPLICA_LIMITS.min, REPLICA_LIMITS.max);
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
        options.actsFirstPort = integerOption(flag, value(), 1, LAST_FIRST_PORT);
        break;
      case '--users-first-port':
        options.usersFirstPort = integerOption(flag, value(), 1, LAST_FIRST_PORT);
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
