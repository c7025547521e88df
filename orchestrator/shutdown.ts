/**
 * The order of a stop: nothing new is started or counted, the front door stops accepting and
 * lets in-flight requests finish, and only then do the pools let go of their replicas (removing
 * them on teardown); the runtime's own handles are released last.
 */
import type { Logger } from '../common/log';
import type { ScalingWindow } from './autoscaler';
import type { FrontDoor } from './front-door';
import type { AdminServer } from './admin';
import type { Pool } from './pool';
import type { HealthMonitor } from './health-monitor';
import type { ContainerRuntime } from './runtime';
import type { DashboardFeed } from './dashboard-feed';

export interface RunningParts {
  stopAudit(): void;
  windows: ReadonlyMap<string, Pick<ScalingWindow, 'stop'>>;
  feed: Pick<DashboardFeed, 'stop'>;
  frontDoor: Pick<FrontDoor, 'close'>;
  admin: Pick<AdminServer, 'close'>;
  pools: ReadonlyMap<string, Pick<Pool, 'shutdown'>>;
  monitor: Pick<HealthMonitor, 'stop'>;
  unsubscribeExits(): void;
  runtime: Pick<ContainerRuntime, 'close'>;
}

export async function stopInOrder(parts: RunningParts, teardown: boolean, logger: Logger): Promise<void> {
  logger.info('stopping', { teardown });
  parts.stopAudit();
  for (const w of parts.windows.values()) w.stop();
  parts.feed.stop();
  await parts.frontDoor.close();
  await parts.admin.close();
  await Promise.all([...parts.pools.values()].map((p) => p.shutdown(teardown)));
  parts.monitor.stop();
  parts.unsubscribeExits();
  await parts.runtime.close();
  logger.info('stopped', { teardown });
}
