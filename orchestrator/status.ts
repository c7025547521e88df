/**
 * What `GET /status` reports, read at call time: every pool's limits, desired count,
 * scaling window and counted requests, and each replica's state.
 */
import type { OrchestratorConfig } from './config';
import type { ScalingWindow } from './autoscaler';
import type { Pool } from './pool';
import type { OrchestratorStatus } from './admin';

export interface StatusSources {
  startedAt: string;
  runtimeName: string;
  scaling: OrchestratorConfig['scaling'];
  pools: ReadonlyMap<string, Pick<Pool, 'name' | 'config' | 'desiredReplicas' | 'status'>>;
  windows: ReadonlyMap<string, Pick<ScalingWindow, 'snapshot'>>;
  /** Counted requests per pool since start. */
  counted: ReadonlyMap<string, number>;
}

export function readStatus(sources: StatusSources): OrchestratorStatus {
  const { scaling, windows, counted } = sources;
  return {
    startedAt: sources.startedAt,
    runtime: sources.runtimeName,
    pools: [...sources.pools.values()].map((pool) => {
      const window = windows.get(pool.name);
      return {
        name: pool.name,
        autoscale: pool.config.autoscale,
        minReplicas: pool.config.minReplicas,
        maxReplicas: pool.config.maxReplicas,
        desiredReplicas: pool.desiredReplicas,
        window: window
          ? {
              ...window.snapshot(),
              windowSeconds: scaling.windowSeconds,
              requestsPerReplica: scaling.requestsPerReplica,
            }
          : null,
        countedRequests: counted.get(pool.name) ?? 0,
        replicas: pool.status(),
      };
    }),
  };
}
