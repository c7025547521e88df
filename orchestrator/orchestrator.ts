/**
 * Wires the parts into one running orchestrator: a balancer per pool, the front door, the
 * health monitor, pools, scaling windows and the admin server. The monitor, the balancers
 * and the front door never know each other; every callback between them is set here.
 */
import type { OrchestratorConfig } from './config';
import type { ContainerRuntime } from './runtime';
import type { Logger } from './log';
import { ListenError } from './errors';
import { RoundRobinBalancer } from './balancer';
import { createFrontDoor, type FrontDoor } from './front-door';
import { HealthMonitor } from './health-monitor';
import { Pool } from './pool';
import { ScalingWindow, desiredReplicas } from './autoscaler';
import { createAdminServer, type AdminServer, type OrchestratorStatus } from './admin';

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
}

export interface Orchestrator {
  frontDoorPort: number;
  adminPort: number;
  status(): OrchestratorStatus;
  /** Stops accepting, lets in-flight requests finish, stops managing; `teardown` also removes replicas. */
  stop(options: { teardown: boolean }): Promise<void>;
}

export { ListenError } from './errors';

async function listenOrExplain(
  what: string,
  host: string,
  port: number,
  listen: () => Promise<unknown>,
): Promise<void> {
  try {
    await listen();
  } catch (err) {
    throw new ListenError(what, host, port, err as NodeJS.ErrnoException);
  }
}

export async function startOrchestrator(
  config: OrchestratorConfig,
  deps: OrchestratorDeps,
): Promise<Orchestrator> {
  const { runtime, logger } = deps;
  const startedAt = new Date().toISOString();
  const balancers = new Map(config.pools.map((p) => [p.name, new RoundRobinBalancer()]));
  const pools = new Map<string, Pool>();
  const windows = new Map<string, ScalingWindow>();
  const counted = new Map(config.pools.map((p) => [p.name, 0]));

  const poolByPort = (port: number) => [...pools.values()].find((p) => p.ownsPort(port));
  const monitor = new HealthMonitor({
    ...config.health,
    onHealthChange: (port, healthy, reason) => poolByPort(port)?.onHealthChange(port, healthy, reason),
  });

  for (const pc of config.pools) {
    const pool = new Pool({
      config: pc,
      runtime,
      rotation: balancers.get(pc.name)!,
      health: monitor,
      logger,
      backoff: {
        initialMs: config.health.backoffInitialMs,
        maxMs: config.health.backoffMaxMs,
        stableMs: Math.max(config.health.backoffMaxMs, config.health.intervalMs * 10),
      },
      ...(deps.drainTimeoutMs !== undefined ? { drainTimeoutMs: deps.drainTimeoutMs } : {}),
    });
    pools.set(pc.name, pool);
    if (pc.autoscale) {
      const policy = {
        requestsPerReplica: config.scaling.requestsPerReplica,
        minReplicas: pc.minReplicas,
        maxReplicas: pc.maxReplicas,
      };
      windows.set(
        pc.name,
        new ScalingWindow({
          windowMs: config.scaling.windowSeconds * 1000,
          onWindowEnd: (count) => {
            const desired = desiredReplicas(count, policy);
            logger.info('scaling window ended', { pool: pc.name, count, desired });
            void pool.scaleTo(desired, `window ended with ${count} counted requests`);
          },
        }),
      );
    }
  }

  const status = (): OrchestratorStatus => ({
    startedAt,
    runtime: deps.runtimeName,
    pools: [...pools.values()].map((pool) => {
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
              windowSeconds: config.scaling.windowSeconds,
              requestsPerReplica: config.scaling.requestsPerReplica,
            }
          : null,
        countedRequests: counted.get(pool.name) ?? 0,
        replicas: pool.status(),
      };
    }),
  });

  const admin: AdminServer = createAdminServer(status);
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
    onUndeliverable: (name, port, error) => pools.get(name)?.onUndeliverable(port, error.message),
    logger,
    ...(deps.closeGraceMs !== undefined ? { closeGraceMs: deps.closeGraceMs } : {}),
  });

  // Both ports first: a taken port must fail before any replica is touched.
  await listenOrExplain('front door', config.listen.host, config.listen.port, () =>
    frontDoor.listen(config.listen.port, config.listen.host),
  );
  let adminPort: number;
  try {
    adminPort = await admin
      .listen(config.admin.port, config.admin.host)
      .catch((err: NodeJS.ErrnoException) => {
        throw new ListenError('admin', config.admin.host, config.admin.port, err);
      });
  } catch (err) {
    await frontDoor.close();
    throw err;
  }
  const address = frontDoor.server.address();
  const frontDoorPort = typeof address === 'object' && address ? address.port : config.listen.port;
  logger.info('listening', {
    frontDoor: `${config.listen.host}:${frontDoorPort}`,
    admin: `${config.admin.host}:${adminPort}`,
  });

  const unsubscribe = runtime.onExit((exit) => {
    logger.info('replica exited', { pool: exit.pool, port: exit.port, id: exit.id, reason: exit.reason });
    pools.get(exit.pool)?.onExit(exit);
  });

  const existing = await runtime.list();
  const foreign = existing.filter((r) => !pools.has(r.pool));
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

  let auditing = false;
  const auditTimer = setInterval(
    () => {
      if (auditing) return;
      auditing = true;
      runtime
        .list()
        .then((listed) => Promise.all([...pools.values()].map((p) => p.audit(listed))))
        .catch((err: Error) => logger.warn('runtime audit failed', { reason: err.message }))
        .finally(() => (auditing = false));
    },
    deps.auditIntervalMs ?? Math.max(5000, config.health.intervalMs * 5),
  );
  auditTimer.unref();

  let stopping: Promise<void> | undefined;
  return {
    frontDoorPort,
    adminPort,
    status,
    stop({ teardown }) {
      stopping ??= (async () => {
        logger.info('stopping', { teardown });
        clearInterval(auditTimer);
        for (const w of windows.values()) w.stop();
        await frontDoor.close();
        await admin.close();
        await Promise.all([...pools.values()].map((p) => p.shutdown(teardown)));
        monitor.stop();
        unsubscribe();
        await runtime.close();
        logger.info('stopped', { teardown });
      })();
      return stopping;
    },
  };
}
