/**
 * How many replicas a host's memory holds. Every figure is measured (docs/deploy.md shows
 * how and the arithmetic); the cap is what the orchestrator's autoscaler may reach, so a
 * host at its cap still has headroom and is never OOM-killed.
 */
import { REPLICA_LIMITS } from '../common/topology';
import type { DatabasePlacement } from './settings';

/** Memory by instance size for the families the deployment is meant for (GiB, from the EC2 docs). */
const SIZE_GIB: Record<string, Record<string, number>> = {
  // General-purpose burstable: 2 GiB per vCPU from small upwards.
  burstable: { nano: 0.5, micro: 1, small: 2, medium: 4, large: 8, xlarge: 16, '2xlarge': 32 },
  // General purpose: 4 GiB per vCPU.
  general: { large: 8, xlarge: 16, '2xlarge': 32, '4xlarge': 64 },
  // Compute optimized: 2 GiB per vCPU.
  compute: { large: 4, xlarge: 8, '2xlarge': 16, '4xlarge': 32 },
};
const FAMILIES: Record<string, keyof typeof SIZE_GIB> = {
  t3: 'burstable',
  t3a: 'burstable',
  t4g: 'burstable',
  m5: 'general',
  m6i: 'general',
  m6g: 'general',
  m7i: 'general',
  m7g: 'general',
  c5: 'compute',
  c6i: 'compute',
  c6g: 'compute',
  c7i: 'compute',
  c7g: 'compute',
};

export function instanceMemoryMiB(instanceType: string): number {
  const [family, size] = instanceType.split('.');
  const table = family !== undefined ? FAMILIES[family] : undefined;
  const gib = table !== undefined && size !== undefined ? SIZE_GIB[table]![size] : undefined;
  if (gib === undefined) {
    throw new Error(
      `instanceType ${instanceType}: its memory is not known here (families ${Object.keys(FAMILIES).join(', ')}); ` +
        'add it to lib/host-capacity.ts',
    );
  }
  return gib * 1024;
}

/**
 * Resident memory in MiB (docs/deploy.md, "Memory", says how each was taken). A replica's
 * peak is while it parses the largest upload it accepts (a 24 MB JSON body).
 */
export const MEASURED_MIB = {
  /** Amazon Linux 2023 with the SSM agent, dockerd and containerd, before any container (an estimate: no AL2023 here). */
  system: 300,
  /** The orchestrator bundle with a pool of three replicas under load: 73 MiB steady, 103 MiB at its high-water mark. */
  orchestrator: 105,
  /** One replica's cgroup high-water mark after three 20 MB uploads (25 MiB idle). */
  replicaPeak: 180,
} as const;

/** The on-host MariaDB container's hard limit (user data passes it to `docker run --memory`). */
export const DATABASE_CONTAINER_MIB = 256;
/** Kept free for the kernel's page cache and bursts nobody measured. */
export const HEADROOM_FRACTION = 0.1;
/** The orchestrator's own ceiling per pool (ports 8000-8009 / 8100-8109 in the course). */
export const REPLICA_LIMIT = REPLICA_LIMITS.max;

export interface ReplicaBudget {
  memoryMiB: number;
  reservedMiB: number;
  perReplicaMiB: number;
  maxReplicas: number;
}

/** Replicas that fit after the system, the orchestrator, the on-host database and headroom. */
export function replicaBudget(instanceType: string, database: DatabasePlacement): ReplicaBudget {
  const memoryMiB = instanceMemoryMiB(instanceType);
  const reservedMiB = Math.ceil(
    MEASURED_MIB.system +
      MEASURED_MIB.orchestrator +
      (database === 'container' ? DATABASE_CONTAINER_MIB : 0) +
      memoryMiB * HEADROOM_FRACTION,
  );
  const fit = Math.floor((memoryMiB - reservedMiB) / MEASURED_MIB.replicaPeak);
  if (fit < 1) {
    throw new Error(
      `instanceType ${instanceType} (${memoryMiB} MiB) cannot hold one replica after ${reservedMiB} MiB for the system` +
        `${database === 'container' ? ', orchestrator and database' : ' and orchestrator'}: choose a larger type`,
    );
  }
  return {
    memoryMiB,
    reservedMiB,
    perReplicaMiB: MEASURED_MIB.replicaPeak,
    maxReplicas: Math.min(fit, REPLICA_LIMIT),
  };
}
