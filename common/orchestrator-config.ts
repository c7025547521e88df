/**
 * The one typed builder of the orchestrator's configuration file, for every host that runs
 * one: `npm start` (all services on one machine) and the CDK user data (one service per
 * instance). Each pool comes from the topology, so a changed port or a new service is one
 * edit in topology.ts. Pure: the result is the JSON the orchestrator parses and validates.
 */
import { REPLICA_LIMITS, SERVICES, type ServiceName } from './topology';

/** A pool as written in the configuration file (fields the orchestrator defaults may be absent). */
export interface PoolConfigFile {
  name: string;
  image?: string;
  command?: string[];
  firstPort: number;
  internalPort?: number;
  env?: Record<string, string>;
  mounts?: { source: string; target: string }[];
  minReplicas?: number;
  maxReplicas?: number;
  autoscale?: boolean;
  pathPrefixes?: string[];
}

export type RuntimeConfigFile =
  { kind: 'docker'; publishHost?: string; owner?: string } | { kind: 'process'; logDir?: string };

/** The orchestrator's configuration file; orchestrator/config.ts validates it and fills defaults. */
export interface OrchestratorConfigFile {
  listen?: { host?: string; port?: number };
  admin?: { host?: string; port?: number };
  runtime?: RuntimeConfigFile;
  health?: Partial<
    Record<
      | 'intervalMs'
      | 'timeoutMs'
      | 'failureThreshold'
      | 'startupGraceMs'
      | 'backoffInitialMs'
      | 'backoffMaxMs',
      number
    >
  >;
  scaling?: { windowSeconds?: number; requestsPerReplica?: number };
  staticDir?: string;
  teardownOnExit?: boolean;
  pools: PoolConfigFile[];
}

/** How a pool's replicas run: containers of the service's image, or local processes of its entry point. */
export type PoolPlacement =
  { kind: 'docker'; mounts?: { source: string; target: string }[] } | { kind: 'process'; node: string };

export interface ServicePoolOptions {
  placement: PoolPlacement;
  env: Record<string, string>;
  /** Overrides the topology's first port (e.g. `npm start --acts-first-port`). */
  firstPort?: number;
  /** A fixed replica count turns autoscaling off. */
  fixedReplicas?: number;
  /** A ceiling below the topology's limit, e.g. what a host's memory holds. */
  maxReplicas?: number;
  /** Overrides the topology's prefixes, e.g. on an instance the load balancer already routed for. */
  pathPrefixes?: readonly string[];
}

/** One service's pool, everything not given taken from the topology. */
export function servicePool(service: ServiceName, options: ServicePoolOptions): PoolConfigFile {
  const topology = SERVICES[service];
  const { placement, fixedReplicas } = options;
  return {
    name: service,
    ...(placement.kind === 'docker'
      ? {
          image: topology.image,
          internalPort: topology.internalPort,
          ...(placement.mounts ? { mounts: placement.mounts } : {}),
        }
      : { command: [placement.node, '--import', 'tsx', topology.entryPoint] }),
    firstPort: options.firstPort ?? topology.firstPort,
    minReplicas: fixedReplicas ?? REPLICA_LIMITS.min,
    maxReplicas: fixedReplicas ?? Math.min(options.maxReplicas ?? REPLICA_LIMITS.max, REPLICA_LIMITS.max),
    ...(fixedReplicas !== undefined ? { autoscale: false } : {}),
    pathPrefixes: [...(options.pathPrefixes ?? topology.pathPrefixes)],
    env: options.env,
  };
}
