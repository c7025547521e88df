/**
 * The periodic full list-and-compare pass that catches exit events the runtime missed:
 * every pool audits itself against what the runtime lists. A pass still running when the
 * next is due is not doubled.
 */
import type { HealthConfig } from './config';
import type { ContainerRuntime } from './runtime';
import type { Logger } from '../common/log';
import type { Pool } from './pool';

/** Every five health intervals, never more often than every five seconds, unless given. */
export function auditIntervalMs(health: Pick<HealthConfig, 'intervalMs'>, given?: number): number {
  return given ?? Math.max(5000, health.intervalMs * 5);
}

/** Starts auditing; returns the function that stops it. */
export function startAudit(
  runtime: Pick<ContainerRuntime, 'list'>,
  pools: ReadonlyMap<string, Pick<Pool, 'audit'>>,
  intervalMs: number,
  logger: Logger,
): () => void {
  let auditing = false;
  const auditTimer = setInterval(() => {
    if (auditing) return;
    auditing = true;
    runtime
      .list()
      .then((listed) => Promise.all([...pools.values()].map((p) => p.audit(listed))))
      .catch((err: Error) => logger.warn('runtime audit failed', { reason: err.message }))
      .finally(() => (auditing = false));
  }, intervalMs);
  auditTimer.unref();
  return () => clearInterval(auditTimer);
}
