/**
 * A target group's health check as the ALB applies it: a new target is out of rotation until
 * it passes `healthyThreshold` checks in a row, and leaves after `unhealthyThreshold` failures
 * in a row. Pure state; the load balancer runs the probes.
 */
import type { Json, Template } from './intrinsics';

export interface HealthCheckSettings {
  path: string;
  port: number | 'traffic-port';
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** Matcher: `200`, `200-299`, `200,302`. */
  matcher: string;
  deregistrationDelaySeconds: number;
}

/** The target group's settings with the ALB's defaults for what the template leaves out. */
export function healthCheckSettings(template: Template, targetGroup: string): HealthCheckSettings {
  const p = (template.Resources[targetGroup]?.Properties ?? {}) as Record<string, Json>;
  const attributes = (p.TargetGroupAttributes as { Key: string; Value: string }[] | undefined) ?? [];
  const delay = attributes.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value;
  const port = p.HealthCheckPort;
  return {
    path: String(p.HealthCheckPath ?? '/'),
    port: port === undefined || port === 'traffic-port' ? 'traffic-port' : Number(port),
    intervalSeconds: Number(p.HealthCheckIntervalSeconds ?? 30),
    timeoutSeconds: Number(p.HealthCheckTimeoutSeconds ?? 5),
    healthyThreshold: Number(p.HealthyThresholdCount ?? 5),
    unhealthyThreshold: Number(p.UnhealthyThresholdCount ?? 2),
    matcher: String((p.Matcher as Record<string, Json> | undefined)?.HttpCode ?? '200'),
    deregistrationDelaySeconds: Number(delay ?? 300),
  };
}

export function matcherAccepts(matcher: string, status: number): boolean {
  return matcher.split(',').some((part) => {
    const [low, high] = part.trim().split('-').map(Number);
    return high === undefined ? status === low : status >= low && status <= high;
  });
}

export type TargetHealth = 'initial' | 'healthy' | 'unhealthy';

export interface HealthState {
  health: TargetHealth;
  /** Consecutive results of the same kind as the last one. */
  streak: number;
  lastPassed: boolean | undefined;
}

export const INITIAL_HEALTH: HealthState = { health: 'initial', streak: 0, lastPassed: undefined };

export function nextHealth(state: HealthState, passed: boolean, settings: HealthCheckSettings): HealthState {
  const streak = state.lastPassed === passed ? state.streak + 1 : 1;
  let health = state.health;
  if (passed && streak >= settings.healthyThreshold) health = 'healthy';
  if (!passed && streak >= settings.unhealthyThreshold) health = 'unhealthy';
  return { health, streak, lastPassed: passed };
}
