/**
 * Auto-scaling: a pure decision from one window's request count, and a thin timer that
 * opens the first window at the first counted request (not at boot) and then runs windows
 * back to back, handing each finished window's count to the caller.
 */

export interface ScalingPolicy {
  requestsPerReplica: number;
  minReplicas: number;
  maxReplicas: number;
}

export function desiredReplicas(count: number, policy: ScalingPolicy): number {
  const wanted = Math.floor(count / policy.requestsPerReplica) + 1;
  return Math.min(policy.maxReplicas, Math.max(policy.minReplicas, wanted));
}

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface WindowSnapshot {
  count: number;
  /** Epoch ms; undefined until the first counted request. */
  startedAt?: number;
  endsAt?: number;
  windowsCompleted: number;
  lastWindowCount?: number;
}

export interface ScalingWindowOptions {
  windowMs: number;
  onWindowEnd: (count: number) => void;
  timers?: Timers;
}

export class ScalingWindow {
  private count = 0;
  private startedAt: number | undefined;
  private handle: unknown;
  private windowsCompleted = 0;
  private lastWindowCount: number | undefined;
  private stopped = false;
  private readonly timers: Timers;

  constructor(private readonly options: ScalingWindowOptions) {
    this.timers = options.timers ?? realTimers;
  }

  /** One counted request; the very first one opens the first window. */
  record(): void {
    if (this.stopped) return;
    if (this.startedAt === undefined) this.open(this.timers.now());
    this.count++;
  }

  snapshot(): WindowSnapshot {
    return {
      count: this.count,
      ...(this.startedAt !== undefined
        ? { startedAt: this.startedAt, endsAt: this.startedAt + this.options.windowMs }
        : {}),
      windowsCompleted: this.windowsCompleted,
      ...(this.lastWindowCount !== undefined ? { lastWindowCount: this.lastWindowCount } : {}),
    };
  }

  stop(): void {
    this.stopped = true;
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle);
    this.handle = undefined;
  }

  private open(startedAt: number): void {
    this.startedAt = startedAt;
    // Scheduled from the window's nominal end, so windows stay back to back without drift.
    const delay = Math.max(0, startedAt + this.options.windowMs - this.timers.now());
    this.handle = this.timers.setTimeout(() => this.close(), delay);
  }

  private close(): void {
    if (this.stopped || this.startedAt === undefined) return;
    const finished = this.count;
    const nextStart = this.startedAt + this.options.windowMs;
    this.count = 0;
    this.windowsCompleted++;
    this.lastWindowCount = finished;
    this.open(nextStart);
    this.options.onWindowEnd(finished);
  }
}
