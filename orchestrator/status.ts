/**
 * What `GET /status` reports, read at call time: every pool's limits, desired count,
 * scaling window and counted requests, and each replica's state.
 */
import type { OrchestratorConfig } from './config';
import type { ScalingWindow } from './autoscaler';
import type { Pool } from './pool';
import type { OrchestratorStatus } from './admin';
import type { DashboardFeed } from './dashboard-feed';
import { redactCommand, redactEnv } from './redact';

export interface StatusSources {
  startedAt: string;
  runtimeName: string;
  scaling: OrchestratorConfig['scaling'];
  pools: ReadonlyMap<string, Pick<Pool, 'name' | 'config' | 'desiredReplicas' | 'status'>>;
  windows: ReadonlyMap<string, Pick<ScalingWindow, 'snapshot'>>;
  /** Counted requests per pool since start. */
  counted: ReadonlyMap<string, number>;
  /** What the dashboard adds: last decisions, replica start times, last probes, recent events. */
  feed: Pick<DashboardFeed, 'lastDecision' | 'startedAt' | 'lastProbe' | 'events'>;
}

export function readStatus(sources: StatusSources): OrchestratorStatus {
  const { scaling, windows, counted, feed } = sources;
  return {
    startedAt: sources.startedAt,
    now: new Date().toISOString(),
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
              lastDecision: feed.lastDecision(pool.name),
            }
          : null,
        countedRequests: counted.get(pool.name) ?? 0,
        image: pool.config.image ?? null,
        command: pool.config.command ? redactCommand(pool.config.command) : null,
        env: redactEnv(pool.config.env),
        replicas: pool.status().map((r) => ({
          ...r,
          startedAt: feed.startedAt(r.id),
          lastProbe: feed.lastProbe(r.port),
        })),
      };
    }),
    events: feed.events.recent(),
  };
}
