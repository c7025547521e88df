/**
 * The system's shape, written once: which services exist, where their replicas listen, what
 * their images and databases are called and which paths reach them. Pure data with no
 * imports, so every consumer may read it: the services (their defaults), the orchestrator
 * (its owner label), `npm start`, the CDK app and the image builder.
 */

export interface ServiceTopology {
  /** Host port of the first replica; replica n listens on firstPort + n - 1. */
  readonly firstPort: number;
  /** Port the service listens on inside its container. */
  readonly internalPort: number;
  /** Image reference the Docker runtime starts, as the image builder tags it. */
  readonly image: string;
  /** Request paths the front door (and the cloud load balancer) send to this service. */
  readonly pathPrefixes: readonly string[];
  /** Name of the service's own database (schemas of two services never meet). */
  readonly database: string;
  /** Entry point, relative to the repository root. */
  readonly entryPoint: string;
}

/** In the order the front door lists them: users' longer prefix sits beside acts' catch-all. */
export const SERVICES = {
  users: {
    firstPort: 8100,
    internalPort: 8100,
    image: 'users:latest',
    pathPrefixes: ['/api/v1/users'],
    database: 'users',
    entryPoint: 'services/users/main.ts',
  },
  acts: {
    firstPort: 8000,
    internalPort: 8000,
    image: 'acts:latest',
    pathPrefixes: ['/api/v1/'],
    database: 'acts',
    entryPoint: 'services/acts/main.ts',
  },
} as const satisfies Record<string, ServiceTopology>;

export type ServiceName = keyof typeof SERVICES;

export const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];

/** Every pool keeps at least one replica and autoscales to at most ten. */
export const REPLICA_LIMITS = { min: 1, max: 10 } as const;

/** Label value marking the containers one orchestrator owns (see orchestrator/docker-runtime.ts). */
export const ORCHESTRATOR_OWNER = 'orchestrator';

/** Ports of one machine running the whole system (`npm start`). */
export const LOCAL_PORTS = { frontDoor: 8080, admin: 9090 } as const;
