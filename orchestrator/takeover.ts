/**
 * Taking over at start from whatever a previous run left: replicas of pools no longer
 * configured are removed, current ones are adopted without a restart, and each pool is then
 * brought to its desired count.
 */
import type { ContainerRuntime, ReplicaInfo } from './runtime';
import type { Logger } from '../common/log';
import type { Pool } from './pool';

/** Replicas whose pool is not configured any more. */
export function strayReplicas(
  existing: readonly ReplicaInfo[],
  poolNames: ReadonlySet<string>,
): ReplicaInfo[] {
  return existing.filter((r) => !poolNames.has(r.pool));
}

export async function takeOver(
  runtime: Pick<ContainerRuntime, 'list' | 'remove'>,
  pools: ReadonlyMap<string, Pick<Pool, 'name' | 'adopt' | 'scaleTo' | 'desiredReplicas'>>,
  logger: Logger,
): Promise<void> {
  const existing = await runtime.list();
  const foreign = strayReplicas(existing, new Set(pools.keys()));
  await Promise.all(
    foreign.map((r) => {
      logger.info('removing stray replica', {
        pool: r.pool,
        port: r.port,
        id: r.id,
        reason: 'pool no longer configured',
      });
      return runtime.remove(r.id);
    }),
  );
  for (const pool of pools.values()) {
    const adopted = await pool.adopt(existing);
    if (adopted > 0) logger.info('adopted replicas', { pool: pool.name, count: adopted });
  }
  await Promise.all(
    [...pools.values()].map((pool) => pool.scaleTo(pool.desiredReplicas, 'orchestrator start')),
  );
}
