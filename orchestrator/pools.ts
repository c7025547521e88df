/**
 * The pools and what they share: a round-robin balancer per pool as its rotation, one health
 * monitor for every replica, and the routing of the monitor's verdicts and the runtime's exit
 * events to the pool that owns the port. The monitor and the balancers never know each other.
 */
import type { HealthConfig, OrchestratorConfig } from './config';
import type { ContainerRuntime } from './runtime';
import type { Logger } from '../common/log';
import type { BackoffPolicy } from './backoff';
import { RoundRobinBalancer } from './balancer';
import { HealthMonitor, type HealthMonitorOptions } from './health-monitor';
import { Pool } from './pool';

export interface PoolSet {
  pools: Map<string, Pool>;
  balancers: Map<string, RoundRobinBalancer>;
  monitor: HealthMonitor;
}

export interface PoolSetDeps {
  runtime: ContainerRuntime;
  logger: Logger;
  drainTimeoutMs?: number;
  /** Sees every probe's outcome (the dashboard's last-probe column). */
  onProbe?: HealthMonitorOptions['onProbe'];
}

/** A replica must stay healthy for a while (never less than the backoff cap) before its failure streak resets. */
export function poolBackoff(health: HealthConfig): BackoffPolicy {
  return {
    initialMs: health.backoffInitialMs,
    maxMs: health.backoffMaxMs,
    stableMs: Math.max(health.backoffMaxMs, health.intervalMs * 10),
  };
}

/** The pool whose port range holds `port`, if any (ranges never overlap; config checks that). */
export function poolOwning<P extends Pick<Pool, 'ownsPort'>>(
  pools: Iterable<P>,
  port: number,
): P | undefined {
  return [...pools].find((p) => p.ownsPort(port));
}

export function buildPools(config: OrchestratorConfig, deps: PoolSetDeps): PoolSet {
  const { runtime, logger } = deps;
  const balancers = new Map(config.pools.map((p) => [p.name, new RoundRobinBalancer()]));
  const pools = new Map<string, Pool>();

  const monitor = new HealthMonitor({
    ...config.health,
    onHealthChange: (port, healthy, reason) =>
      poolOwning(pools.values(), port)?.onHealthChange(port, healthy, reason),
    ...(deps.onProbe ? { onProbe: deps.onProbe } : {}),
  });

  for (const pc of config.pools) {
    const pool = new Pool({
      config: pc,
      runtime,
      rotation: balancers.get(pc.name)!,
      health: monitor,
      logger,
      backoff: poolBackoff(config.health),
      ...(deps.drainTimeoutMs !== undefined ? { drainTimeoutMs: deps.drainTimeoutMs } : {}),
    });
    pools.set(pc.name, pool);
  }
  return { pools, balancers, monitor };
}

/** Hands each replica exit the runtime reports to its pool; returns the unsubscribe function. */
export function routeExits(
  runtime: Pick<ContainerRuntime, 'onExit'>,
  pools: ReadonlyMap<string, Pick<Pool, 'onExit'>>,
  logger: Logger,
): () => void {
  return runtime.onExit((exit) => {
    logger.info('replica exited', { pool: exit.pool, port: exit.port, id: exit.id, reason: exit.reason });
    pools.get(exit.pool)?.onExit(exit);
  });
}
