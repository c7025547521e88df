/**
 * Wires the parts into one running orchestrator: the pools with their balancers and health
 * monitor (pools.ts), the scaling windows (scaling-windows.ts), the front door and the admin
 * server, both ports first (listen.ts), the take-over of a previous run's replicas
 * (takeover.ts), the audit (audit.ts) and the stop (shutdown.ts). The monitor, the balancers
 * and the front door never know each other; every callback between them is set here.
 */
import type { OrchestratorConfig } from './config';
import type { ContainerRuntime } from './runtime';
import type { Logger } from '../common/log';
import { createFrontDoor, type FrontDoor, type FrontDoorOptions } from './front-door';
import { createAdminServer, type AdminServer, type OrchestratorStatus } from './admin';
import { buildPools, routeExits } from './pools';
import { createScalingWindows } from './scaling-windows';
import { readStatus } from './status';
import { listenFrontDoorAndAdmin } from './listen';
import { takeOver } from './takeover';
import { auditIntervalMs, startAudit } from './audit';
import { stopInOrder } from './shutdown';
import { DashboardFeed } from './dashboard-feed';
import { loadDashboardFiles } from './dashboard-assets';

export interface OrchestratorDeps {
  runtime: ContainerRuntime;
  /** Shown in status: `process` or `docker`. */
  runtimeName: string;
  logger: Logger;
  /** Period of the full list-and-compare pass that catches missed exit events. */
  auditIntervalMs?: number;
  drainTimeoutMs?: number;
  /** How long the front door lets in-flight requests finish on stop. */
  closeGraceMs?: number;
  /** Upstream timeouts, connection limits and retries; the defaults suit production. */
  upstream?: FrontDoorOptions['upstream'];
}

export interface Orchestrator {
  frontDoorPort: number;
  adminPort: number;
  status(): OrchestratorStatus;
  /** Stops accepting, lets in-flight requests finish, stops managing; `teardown` also removes replicas. */
  stop(options: { teardown: boolean }): Promise<void>;
}

export { ListenError } from './errors';

export async function startOrchestrator(
  config: OrchestratorConfig,
  deps: OrchestratorDeps,
): Promise<Orchestrator> {
  const { runtime } = deps;
  // Every line below goes through the dashboard's feed: scrubbed of secrets, read for events.
  const feed = new DashboardFeed(config.pools);
  const logger = feed.logger(deps.logger);
  const startedAt = new Date().toISOString();
  const { pools, balancers, monitor } = buildPools(config, {
    ...deps,
    logger,
    onProbe: (port, outcome, latencyMs) => feed.recordProbe(port, outcome, latencyMs),
  });
  const windows = createScalingWindows(config, pools, logger);
  const counted = new Map(config.pools.map((p) => [p.name, 0]));

  const status = (): OrchestratorStatus =>
    readStatus({
      startedAt,
      runtimeName: deps.runtimeName,
      scaling: config.scaling,
      pools,
      windows,
      counted,
      feed,
    });

  const admin: AdminServer = createAdminServer({ status, feed, loadDashboard: () => loadDashboardFiles() });
  const frontDoor: FrontDoor = createFrontDoor({
    pools: config.pools.map((p) => ({
      name: p.name,
      pathPrefixes: p.pathPrefixes,
      balancer: balancers.get(p.name)!,
    })),
    ...(config.staticDir !== undefined ? { staticDir: config.staticDir } : {}),
    onCountedRequest: (name) => {
      counted.set(name, (counted.get(name) ?? 0) + 1);
      windows.get(name)?.record();
      admin.countRequest(name);
    },
    onReplicaFailed: (name, port, failure) => pools.get(name)?.onReplicaFailed(port, failure),
    logger,
    ...(deps.closeGraceMs !== undefined ? { closeGraceMs: deps.closeGraceMs } : {}),
    ...(deps.upstream !== undefined ? { upstream: deps.upstream } : {}),
  });

  feed.observe(frontDoor.server);

  const { frontDoorPort, adminPort } = await listenFrontDoorAndAdmin(config, frontDoor, admin);
  feed.start(() => Object.fromEntries([...pools.values()].map((p) => [p.name, p.status().length])));
  logger.info('listening', {
    frontDoor: `${config.listen.host}:${frontDoorPort}`,
    admin: `${config.admin.host}:${adminPort}`,
  });
  const unsubscribeExits = routeExits(runtime, pools, logger);
  await takeOver(runtime, pools, logger);
  const stopAudit = startAudit(runtime, pools, auditIntervalMs(config.health, deps.auditIntervalMs), logger);

  let stopping: Promise<void> | undefined;
  return {
    frontDoorPort,
    adminPort,
    status,
    stop({ teardown }) {
      stopping ??= stopInOrder(
        { stopAudit, windows, feed, frontDoor, admin, pools, monitor, unsubscribeExits, runtime },
        teardown,
        logger,
      );
      return stopping;
    },
  };
}
