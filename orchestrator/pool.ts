/**
 * The life of one pool's replicas: start, join rotation on health, replace on failure (same
 * port, old one gone first, backoff when it keeps failing), scale to a desired count, drain
 * before removal, adopt what a previous run left. Every lifecycle step on one port runs in
 * that port's queue, so an exit event and a failed probe never race two replacements.
 */
import { createHash } from 'node:crypto';
import type { PoolConfig } from './config';
import type { ContainerRuntime, ReplicaExit, ReplicaInfo, ReplicaSpec } from './runtime';
import type { Logger } from '../common/log';
import { backoffDelayMs, nextFailureStreak, type BackoffPolicy } from './backoff';
import { planReconcile } from './reconciler';
import type { ReplicaFailure } from './proxy';
import type { ReportedHealth } from './health-monitor';
import { realTimers, type Timers } from './autoscaler';

/** The slice of the balancer a pool drives. */
export interface RotationControl {
  add(port: number): void;
  remove(port: number): void;
  setInRotation(port: number, inRotation: boolean): void;
  whenDrained(port: number): Promise<void>;
  snapshot(): { port: number; inRotation: boolean; inFlight: number }[];
}

/** The slice of the health monitor a pool drives. */
export interface HealthWatch {
  watch(port: number): void;
  unwatch(port: number): void;
  recheck(port: number): void;
}

export type ReplicaState =
  'starting' | 'running' | 'suspect' | 'replacing' | 'backoff' | 'draining' | 'stopping';
export type ReplicaHealth = 'unknown' | 'healthy' | 'unhealthy';

export interface ReplicaStatus {
  port: number;
  id: string | null;
  state: ReplicaState;
  health: ReplicaHealth;
  inRotation: boolean;
  inFlight: number;
  restarts: number;
  failureStreak: number;
  backoffMs: number;
  nextAttemptAt: string | null;
  reason: string;
}

interface Slot {
  port: number;
  id: string | undefined;
  state: ReplicaState;
  health: ReplicaHealth;
  restarts: number;
  failureStreak: number;
  backoffMs: number;
  nextAttemptAt: number | undefined;
  healthySince: number | undefined;
  reason: string;
  wanted: boolean;
  replacing: boolean;
  queue: Promise<void>;
  cancelWait: (() => void) | undefined;
}

export interface PoolOptions {
  config: PoolConfig;
  runtime: ContainerRuntime;
  rotation: RotationControl;
  health: HealthWatch;
  logger: Logger;
  backoff: BackoffPolicy;
  /** Upper bound on waiting for in-flight requests of a leaving replica. */
  drainTimeoutMs?: number;
  /**
   * Upper bound on waiting for in-flight requests of a replica being replaced while still
   * running: short, since it failed, but long enough for the answers it is still giving.
   */
  replaceDrainMs?: number;
  timers?: Timers;
}

/** Identifies what a replica was started from; the port is not part of it (it is its own label). */
export function specHashOf(config: PoolConfig): string {
  const material = JSON.stringify({
    image: config.image ?? null,
    command: config.command ?? null,
    internalPort: config.internalPort,
    env: Object.keys(config.env)
      .sort()
      .map((k) => [k, config.env[k]]),
    mounts: config.mounts,
  });
  return createHash('sha256').update(material).digest('hex').slice(0, 16);
}

export class Pool {
  readonly name: string;
  readonly specHash: string;
  private readonly slots = new Map<number, Slot>();
  private desired: number;
  private scaling: Promise<void> = Promise.resolve();
  private startsInFlight = 0;
  private closed = false;
  private readonly timers: Timers;
  private readonly log: Logger;

  constructor(private readonly options: PoolOptions) {
    this.name = options.config.name;
    this.specHash = specHashOf(options.config);
    this.desired = options.config.minReplicas;
    this.timers = options.timers ?? realTimers;
    this.log = options.logger;
  }

  get config(): PoolConfig {
    return this.options.config;
  }

  get desiredReplicas(): number {
    return this.desired;
  }

  ownsPort(port: number): boolean {
    const { firstPort, maxReplicas } = this.options.config;
    return port >= firstPort && port < firstPort + maxReplicas;
  }

  /**
   * Takes over replicas a previous run left (right pool, port in range, same spec) and
   * removes the others. Returns how many were adopted.
   */
  async adopt(existing: ReplicaInfo[]): Promise<number> {
    let adopted = 0;
    const removals: Promise<void>[] = [];
    for (const replica of existing.filter((r) => r.pool === this.name)) {
      const why = !replica.running
        ? 'not running'
        : replica.specHash !== this.specHash
          ? 'started from another spec'
          : !this.ownsPort(replica.port)
            ? `port ${replica.port} outside the pool's range`
            : this.slots.has(replica.port)
              ? `port ${replica.port} already taken`
              : undefined;
      if (why) {
        this.log.info('removing stray replica', {
          pool: this.name,
          port: replica.port,
          id: replica.id,
          reason: why,
        });
        removals.push(this.options.runtime.remove(replica.id));
        continue;
      }
      const slot = this.newSlot(replica.port);
      slot.id = replica.id;
      this.options.rotation.add(replica.port);
      this.transition(slot, 'starting', 'adopted from a previous run');
      this.options.health.watch(replica.port);
      adopted++;
    }
    await Promise.all(removals);
    const { minReplicas, maxReplicas } = this.options.config;
    this.desired = Math.min(maxReplicas, Math.max(minReplicas, adopted));
    return adopted;
  }

  /** Brings the pool to `desired` replicas; calls are applied one after another. */
  scaleTo(desired: number, reason: string): Promise<void> {
    const { minReplicas, maxReplicas, autoscale } = this.options.config;
    const target = autoscale ? Math.min(maxReplicas, Math.max(minReplicas, desired)) : minReplicas;
    const run = async () => {
      if (this.closed) return;
      if (target !== this.desired) {
        this.log.info('desired replicas changed', {
          pool: this.name,
          from: this.desired,
          to: target,
          reason,
        });
      }
      this.desired = target;
      const plan = planReconcile(target, this.slots.keys(), this.options.config.firstPort);
      for (const port of plan.starts) {
        const slot = this.newSlot(port);
        this.enqueue(slot, () => this.startReplica(slot, reason));
      }
      // All leavers stop receiving new requests at once; each then drains on its own.
      const leaving = plan.stops.map((port) => this.slots.get(port)!);
      leaving.forEach((slot) => this.beginRetire(slot));
      await Promise.all(leaving.map((slot) => this.enqueue(slot, () => this.finishRetire(slot))));
      await Promise.all(plan.starts.map((port) => this.slots.get(port)?.queue));
    };
    this.scaling = this.scaling.then(run, run);
    return this.scaling;
  }

  onHealthChange(port: number, health: ReportedHealth, reason: string): void {
    const slot = this.slots.get(port);
    if (!slot || !slot.wanted || slot.replacing || this.closed) return;
    if (health === 'healthy') {
      slot.health = 'healthy';
      slot.healthySince = this.timers.now();
      slot.backoffMs = 0;
      slot.nextAttemptAt = undefined;
      this.options.rotation.setInRotation(port, true);
      this.transition(slot, 'running', reason);
      return;
    }
    if (health === 'unavailable') {
      // Its database is unreachable: a new replica would find it just as unreachable, and every
      // replica fails together, so replacing would only churn. The probes go on and bring it back.
      slot.health = 'unhealthy';
      slot.healthySince = undefined;
      this.options.rotation.setInRotation(port, false);
      this.transition(slot, 'suspect', `unavailable: ${reason}; out of rotation, still probed`);
      return;
    }
    this.replace(slot, `unhealthy: ${reason}`);
  }

  onExit(exit: ReplicaExit): void {
    const slot = this.slots.get(exit.port);
    if (!slot || slot.id !== exit.id || !slot.wanted || this.closed) return;
    this.replace(slot, `exited: ${exit.reason}`, true);
  }

  /**
   * The front door saw this replica fail a request (and took it out of rotation unless it was
   * the last one): probe it at once. A passing probe brings it back; a failing one replaces it.
   */
  onReplicaFailed(port: number, failure: ReplicaFailure): void {
    const slot = this.slots.get(port);
    if (!slot || !slot.wanted || slot.replacing || this.closed) return;
    // The last replica in rotation stays in it; the regular probes judge it.
    if (!failure.ejected) return;
    slot.health = 'unknown';
    slot.healthySince = undefined;
    this.transition(slot, 'suspect', `${failure.kind}: ${failure.detail}; probing now`);
    this.options.health.recheck(port);
  }

  /** Catches what events missed: replicas gone from the runtime's listing, strays in it. */
  async audit(listed: ReplicaInfo[]): Promise<void> {
    if (this.closed) return;
    const mine = listed.filter((r) => r.pool === this.name);
    const byId = new Map(mine.map((r) => [r.id, r]));
    for (const slot of this.slots.values()) {
      if (!slot.id || slot.replacing || !slot.wanted) continue;
      const seen = byId.get(slot.id);
      if (!seen) this.replace(slot, 'missing from the runtime listing');
      else if (!seen.running) this.replace(slot, 'listed as not running');
    }
    // While a start is in flight its replica may be listed before its id is known here.
    if (this.startsInFlight > 0) return;
    const known = new Set([...this.slots.values()].map((s) => s.id));
    const strays = mine.filter((r) => !known.has(r.id));
    await Promise.all(
      strays.map((r) => {
        this.log.info('removing stray replica', {
          pool: this.name,
          port: r.port,
          id: r.id,
          reason: 'not managed by this run',
        });
        return this.options.runtime.remove(r.id);
      }),
    );
  }

  status(): ReplicaStatus[] {
    const rotation = new Map(this.options.rotation.snapshot().map((s) => [s.port, s]));
    return [...this.slots.values()]
      .sort((a, b) => a.port - b.port)
      .map((s) => ({
        port: s.port,
        id: s.id ?? null,
        state: s.state,
        health: s.health,
        inRotation: rotation.get(s.port)?.inRotation ?? false,
        inFlight: rotation.get(s.port)?.inFlight ?? 0,
        restarts: s.restarts,
        failureStreak: s.failureStreak,
        backoffMs: s.backoffMs,
        nextAttemptAt: s.nextAttemptAt !== undefined ? new Date(s.nextAttemptAt).toISOString() : null,
        reason: s.reason,
      }));
  }

  /** Stops managing; with `teardown` also removes every replica. */
  async shutdown(teardown: boolean): Promise<void> {
    this.closed = true;
    for (const slot of this.slots.values()) {
      slot.cancelWait?.();
      this.options.health.unwatch(slot.port);
    }
    await this.scaling.catch(() => undefined);
    await Promise.all([...this.slots.values()].map((s) => s.queue));
    if (!teardown) return;
    await Promise.all(
      [...this.slots.values()].map(async (slot) => {
        this.options.rotation.setInRotation(slot.port, false);
        if (slot.id) await this.options.runtime.remove(slot.id);
        this.options.rotation.remove(slot.port);
        this.transition(slot, 'stopping', 'orchestrator shutting down');
        this.slots.delete(slot.port);
      }),
    );
  }

  private newSlot(port: number): Slot {
    const slot: Slot = {
      port,
      id: undefined,
      state: 'starting',
      health: 'unknown',
      restarts: 0,
      failureStreak: 0,
      backoffMs: 0,
      nextAttemptAt: undefined,
      healthySince: undefined,
      reason: '',
      wanted: true,
      replacing: false,
      queue: Promise.resolve(),
      cancelWait: undefined,
    };
    this.slots.set(port, slot);
    return slot;
  }

  private enqueue(slot: Slot, step: () => Promise<void>): Promise<void> {
    slot.queue = slot.queue.then(step).catch((err: Error) => {
      this.log.error('replica lifecycle step failed', {
        pool: this.name,
        port: slot.port,
        error: err.message,
      });
    });
    return slot.queue;
  }

  private transition(slot: Slot, state: ReplicaState, reason: string): void {
    const from = slot.state;
    slot.state = state;
    slot.reason = reason;
    this.log.info('replica state', {
      pool: this.name,
      port: slot.port,
      id: slot.id ?? null,
      from,
      to: state,
      reason,
    });
  }

  private spec(port: number): ReplicaSpec {
    const c = this.options.config;
    return {
      pool: c.name,
      port,
      ...(c.image !== undefined ? { image: c.image } : {}),
      ...(c.command !== undefined ? { command: c.command } : {}),
      internalPort: c.internalPort,
      env: c.env,
      mounts: c.mounts,
      specHash: this.specHash,
    };
  }

  private async startReplica(slot: Slot, reason: string): Promise<void> {
    if (!slot.wanted || this.closed) return;
    this.transition(slot, 'starting', reason);
    this.startsInFlight++;
    let info: ReplicaInfo;
    try {
      info = await this.options.runtime.start(this.spec(slot.port));
    } catch (err) {
      this.startsInFlight--;
      this.replace(slot, `start failed: ${(err as Error).message}`);
      return;
    }
    this.startsInFlight--;
    slot.id = info.id;
    slot.health = 'unknown';
    this.log.info('replica started', { pool: this.name, port: slot.port, id: info.id });
    if (!slot.wanted || this.closed) return;
    this.options.rotation.add(slot.port);
    this.options.health.watch(slot.port);
  }

  /** Out of rotation now; removal, backoff and the new start follow in the port's queue. */
  private replace(slot: Slot, reason: string, exited = false): void {
    if (slot.replacing || !slot.wanted || this.closed) return;
    slot.replacing = true;
    this.options.rotation.setInRotation(slot.port, false);
    this.options.health.unwatch(slot.port);
    slot.health = 'unhealthy';
    const healthyFor = slot.healthySince !== undefined ? this.timers.now() - slot.healthySince : undefined;
    slot.healthySince = undefined;
    slot.failureStreak = nextFailureStreak(slot.failureStreak, healthyFor, this.options.backoff);
    slot.backoffMs = backoffDelayMs(slot.failureStreak, this.options.backoff);
    this.transition(slot, 'replacing', reason);
    this.enqueue(slot, async () => {
      const oldId = slot.id;
      // Forget the id first: the exit this removal causes is not a new failure.
      slot.id = undefined;
      // Answers already on their way (a crashed replica still answers) finish before the kill.
      if (oldId && !exited) await this.drained(slot.port, this.options.replaceDrainMs ?? 1000);
      if (oldId) await this.options.runtime.remove(oldId);
      if (!slot.wanted || this.closed) return;
      slot.restarts++;
      if (slot.backoffMs > 0) {
        slot.nextAttemptAt = this.timers.now() + slot.backoffMs;
        this.transition(
          slot,
          'backoff',
          `${slot.failureStreak} failures in a row: waiting ${slot.backoffMs} ms`,
        );
        await new Promise<void>((resolve) => {
          const timer = this.timers.setTimeout(resolve, slot.backoffMs);
          slot.cancelWait = () => {
            this.timers.clearTimeout(timer);
            resolve();
          };
        });
        slot.cancelWait = undefined;
        slot.nextAttemptAt = undefined;
      }
      slot.replacing = false;
      await this.startReplica(slot, `replacing: ${reason}`);
    });
  }

  private beginRetire(slot: Slot): void {
    slot.wanted = false;
    slot.cancelWait?.();
    this.options.rotation.setInRotation(slot.port, false);
    this.options.health.unwatch(slot.port);
    this.transition(slot, 'draining', `scaling down to ${this.desired}`);
  }

  private async finishRetire(slot: Slot): Promise<void> {
    const drainTimeoutMs = this.options.drainTimeoutMs ?? 30000;
    const timedOut = !(await this.drained(slot.port, drainTimeoutMs));
    this.transition(slot, 'stopping', timedOut ? `drain timed out after ${drainTimeoutMs} ms` : 'drained');
    const id = slot.id;
    slot.id = undefined;
    if (id) await this.options.runtime.remove(id);
    this.options.rotation.remove(slot.port);
    this.slots.delete(slot.port);
    this.log.info('replica removed', {
      pool: this.name,
      port: slot.port,
      id: id ?? null,
      reason: 'scaled down',
    });
  }

  /** Waits until the port has no request in flight; false when `limitMs` ran out first. */
  private drained(port: number, limitMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = this.timers.setTimeout(() => resolve(false), limitMs);
      void this.options.rotation.whenDrained(port).then(() => {
        this.timers.clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
