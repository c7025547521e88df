/**
 * The orchestrator configuration `npm start` runs: every service of the topology as a pool on
 * this machine, as processes or containers, behind one front door on loopback.
 */
import path from 'node:path';
import {
  servicePool,
  type OrchestratorConfigFile,
  type PoolPlacement,
} from '../../common/orchestrator-config';
import { SERVICES, SERVICE_NAMES, type ServiceName } from '../../common/topology';
import { parseConfig, type OrchestratorConfig } from '../../orchestrator/config';
import type { StartOptions } from './cli';
import { bundledServiceCommand } from '../services-bundle';

/** One database per service, derived from a shared URL, so their schemas never meet. */
export function serviceDatabaseUrl(base: string, service: ServiceName): string {
  const database = SERVICES[service].database;
  if (base.startsWith('sqlite:')) {
    const file = base.slice('sqlite:'.length);
    const ext = path.extname(file);
    return `sqlite:${file.slice(0, file.length - ext.length)}-${database}${ext || '.db'}`;
  }
  const url = new URL(base);
  const name = url.pathname.replace(/^\//, '') || 'selfieless';
  url.pathname = `/${name}_${database}`;
  return url.toString();
}

/** Where containers see the data directory. */
const CONTAINER_DATA_DIR = '/data';

function databaseUrl(options: StartOptions, service: ServiceName): string {
  const file = `${SERVICES[service].database}.db`;
  if (options.databaseUrl) return serviceDatabaseUrl(options.databaseUrl, service);
  return options.runtime === 'docker'
    ? `sqlite:${CONTAINER_DATA_DIR}/${file}`
    : `sqlite:${path.join(path.resolve(options.dataDir), file)}`;
}

/** What each service needs to know of this machine beyond its database. */
function serviceEnv(options: StartOptions, service: ServiceName): Record<string, string> {
  const env: Record<string, string> = { DATABASE_URL: databaseUrl(options, service) };
  if (service === 'acts') {
    // Loopback URLs reach containers too: the Docker runtime relays them.
    env.USERS_URL = `http://127.0.0.1:${options.port}`;
    env.PUBLIC_ORIGIN = `http://localhost:${options.port}`;
  }
  return env;
}

/** The first ports chosen on the command line; a service without an option keeps the topology's. */
function firstPort(options: StartOptions, service: ServiceName): number | undefined {
  const chosen: Partial<Record<ServiceName, number>> = {
    acts: options.actsFirstPort,
    users: options.usersFirstPort,
  };
  return chosen[service];
}

/** The configuration file npm start would write, typed; `staticDir` is the built web UI, if any. */
export function startConfigFile(
  options: StartOptions,
  staticDir: string | undefined,
): OrchestratorConfigFile {
  const dataDir = path.resolve(options.dataDir);
  const docker = options.runtime === 'docker';
  const placement: PoolPlacement = docker
    ? { kind: 'docker', mounts: [{ source: dataDir, target: CONTAINER_DATA_DIR }] }
    : { kind: 'process', node: process.execPath };
  return {
    listen: { host: '127.0.0.1', port: options.port },
    admin: { host: '127.0.0.1', port: options.adminPort },
    runtime: docker
      ? { kind: 'docker', publishHost: '127.0.0.1' }
      : { kind: 'process', logDir: path.join(dataDir, 'logs') },
    scaling: { windowSeconds: options.windowSeconds, requestsPerReplica: 20 },
    ...(staticDir ? { staticDir } : {}),
    teardownOnExit: true,
    pools: SERVICE_NAMES.map((service) => ({
      ...servicePool(service, {
        placement,
        ...(firstPort(options, service) !== undefined ? { firstPort: firstPort(options, service) } : {}),
        env: serviceEnv(options, service),
        // --replicas fixes the acts pool only; users keeps autoscaling.
        ...(service === 'acts' && options.replicas !== undefined ? { fixedReplicas: options.replicas } : {}),
      }),
      // Processes run the service bundled, as its image does: no TypeScript loader at run time.
      ...(docker ? {} : { command: bundledServiceCommand(service) }),
    })),
  };
}

/** The orchestrator configuration for this machine, built in memory and validated. */
export function buildStartConfig(options: StartOptions, staticDir: string | undefined): OrchestratorConfig {
  return parseConfig(startConfigFile(options, staticDir));
}
