/**
 * One scaling window per auto-scaled pool. At each window's end the pool is scaled to the
 * count the autoscaler's pure rule gives for that window's counted requests.
 */
import type { OrchestratorConfig, PoolConfig } from './config';
import type { Logger } from '../common/log';
import type { Pool } from './pool';
import { ScalingWindow, desiredReplicas, type ScalingPolicy, type Timers } from './autoscaler';

function scalingPolicy(pool: PoolConfig, scaling: OrchestratorConfig['scaling']): ScalingPolicy {
  return {
    requestsPerReplica: scaling.requestsPerReplica,
    minReplicas: pool.minReplicas,
    maxReplicas: pool.maxReplicas,
  };
}

/** Windows for the pools with `autoscale` on, keyed by pool name; the others have none. */
export function createScalingWindows(
  config: Pick<OrchestratorConfig, 'pools' | 'scaling'>,
  pools: ReadonlyMap<string, Pick<Pool, 'scaleTo'>>,
  logger: Logger,
  timers?: Timers,
): Map<string, ScalingWindow> {
  const windows = new Map<string, ScalingWindow>();
  for (const pc of config.pools) {
    const pool = pools.get(pc.name);
    if (!pc.autoscale || !pool) continue;
    const policy = scalingPolicy(pc, config.scaling);
    windows.set(
      pc.name,
      new ScalingWindow({
        windowMs: config.scaling.windowSeconds * 1000,
        onWindowEnd: (count) => {
          const desired = desiredReplicas(count, policy);
          const reason = `${count} counted requests: floor(${count}/${policy.requestsPerReplica})+1 within ${policy.minReplicas}..${policy.maxReplicas} = ${desired} replicas`;
          logger.info('scaling window ended', { pool: pc.name, count, desired, reason });
          void pool.scaleTo(desired, `window ended with ${count} counted requests`);
        },
        ...(timers ? { timers } : {}),
      }),
    );
  }
  return windows;
}
