/**
 * Probes `GET /api/v1/_health` on each watched replica, straight at its port (never through
 * the front door, so probes are never counted), and reports transitions only. It knows
 * nothing of the balancer: whoever creates it passes the callback that acts on a change.
 */
import http from 'node:http';
import { realTimers, type Timers } from './autoscaler';

/**
 * What a change in probe results means: `unavailable` is a `503` from `_health` (the replica is
 * fine but cannot reach its database, an outside cause every replica shares): out of rotation,
 * still probed, not replaced. `unhealthy` means replace it.
 */
export type ReportedHealth = 'healthy' | 'unavailable' | 'unhealthy';
export type HealthChangeListener = (port: number, health: ReportedHealth, reason: string) => void;

/**
 * How long a replica may keep answering 503 before it is replaced after all: far longer than a
 * database restart or failover (seconds to a minute), so an outage never causes a replacement
 * storm, yet a replica whose connection pool is wedged for good is not kept forever.
 */
export const UNAVAILABLE_LIMIT_MS = 120_000;

/**
 * How often a starting replica is probed. A replica joins the rotation on its first passing
 * probe, so this is how late it may join after it starts listening: half of it on average.
 * A probe of a port nobody listens on yet is refused at once, and the monitor's timer runs at
 * this pace only while a replica is starting (see `schedule`).
 */
export const STARTUP_PROBE_MS = 25;

export interface HealthMonitorOptions {
  intervalMs: number;
  timeoutMs: number;
  failureThreshold: number;
  startupGraceMs: number;
  /** See UNAVAILABLE_LIMIT_MS. */
  unavailableLimitMs?: number;
  onHealthChange: HealthChangeListener;
  /** Told of every probe's outcome and how long it took (for display; decisions stay here). */
  onProbe?: (port: number, outcome: ProbeOutcome, latencyMs: number) => void;
  host?: string;
  path?: string;
  /**
   * Probe period for a replica that has not passed yet, so a fresh one joins soon after it
   * listens (default STARTUP_PROBE_MS).
   */
  startupProbeMs?: number;
  timers?: Timers;
  /** How one probe is made; the real one is an HTTP GET (tests of the rules pass their own). */
  probe?: (host: string, port: number, path: string, timeoutMs: number) => Promise<ProbeOutcome>;
}

export type ProbeOutcome =
  | { kind: 'pass'; status: number }
  | { kind: 'server-error'; status: number }
  | { kind: 'failure'; reason: string };

/** What one probe result means for a replica; pure so the rules are table-tested. */
export interface ProbeState {
  /** undefined until the first verdict. */
  healthy: boolean | undefined;
  passedOnce: boolean;
  consecutiveFailures: number;
  watchedSinceMs: number;
  /** Set (to when the run began) while the replica answers 503. */
  unavailableSinceMs?: number;
  /** 503s in a row while in rotation, before it leaves (see judgeProbe). */
  consecutiveUnavailable?: number;
}

export interface ProbeVerdict {
  state: ProbeState;
  /** Set when the replica's health changed. */
  change?: { health: ReportedHealth; reason: string };
}

/** The status with which `_health` says "I am fine, my database is not". */
const UNAVAILABLE_STATUS = 503;

/** Reported unhealthy already (being replaced): nothing further to report. */
function reportedUnhealthy(state: ProbeState): boolean {
  return state.healthy === false && state.unavailableSinceMs === undefined;
}

export function judgeProbe(
  state: ProbeState,
  outcome: ProbeOutcome,
  nowMs: number,
  rules: { failureThreshold: number; startupGraceMs: number; unavailableLimitMs?: number },
): ProbeVerdict {
  if (outcome.kind === 'pass') {
    const next: ProbeState = {
      ...state,
      healthy: true,
      passedOnce: true,
      consecutiveFailures: 0,
      unavailableSinceMs: undefined,
      consecutiveUnavailable: undefined,
    };
    return state.healthy === true
      ? { state: next }
      : { state: next, change: { health: 'healthy', reason: `health probe passed (${outcome.status})` } };
  }
  if (outcome.kind === 'server-error' && outcome.status === UNAVAILABLE_STATUS && !reportedUnhealthy(state)) {
    const since = state.unavailableSinceMs ?? nowMs;
    const limitMs = rules.unavailableLimitMs ?? UNAVAILABLE_LIMIT_MS;
    const inARow = (state.consecutiveUnavailable ?? 0) + 1;
    const next: ProbeState = {
      ...state,
      healthy: false,
      consecutiveFailures: 0,
      unavailableSinceMs: since,
      consecutiveUnavailable: inARow,
    };
    if (nowMs - since >= limitMs) {
      next.unavailableSinceMs = undefined;
      next.consecutiveUnavailable = undefined;
      const reason = `health probe answered ${outcome.status} for ${nowMs - since} ms (limit ${limitMs} ms)`;
      return { state: next, change: { health: 'unhealthy', reason } };
    }
    // A replica in rotation stays there until failureThreshold 503s in a row: `_health` answers
    // 503 when its database check misses a 500 ms deadline, and one stall of a busy host can
    // make every replica miss it at the same tick, which would empty the pool for a second.
    // Meanwhile requests reach it and a database that is really down answers them 503 anyway.
    if (state.healthy === true && inARow < rules.failureThreshold)
      return { state: { ...next, healthy: true } };
    return state.healthy === false
      ? { state: next }
      : { state: next, change: { health: 'unavailable', reason: `health probe answered ${outcome.status}` } };
  }
  if (outcome.kind === 'server-error') {
    const next: ProbeState = {
      ...state,
      healthy: false,
      consecutiveFailures: state.consecutiveFailures + 1,
      unavailableSinceMs: undefined,
      consecutiveUnavailable: undefined,
    };
    return reportedUnhealthy(state)
      ? { state: next }
      : { state: next, change: { health: 'unhealthy', reason: `health probe answered ${outcome.status}` } };
  }
  const inGrace = !state.passedOnce && nowMs - state.watchedSinceMs < rules.startupGraceMs;
  if (inGrace) return { state };
  const failures = state.consecutiveFailures + 1;
  const next: ProbeState = { ...state, consecutiveFailures: failures, consecutiveUnavailable: undefined };
  if (failures < rules.failureThreshold || reportedUnhealthy(state)) return { state: next };
  next.healthy = false;
  next.unavailableSinceMs = undefined;
  return {
    state: next,
    change: {
      health: 'unhealthy',
      reason: `${failures} health probes failed in a row (last: ${outcome.reason})`,
    },
  };
}

/** One `GET` with a deadline; never rejects. */
export function probeOnce(
  host: string,
  port: number,
  path: string,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(outcome);
    };
    // A fresh connection per probe: a refused connect is exactly what a probe must see.
    const req = http.get({ host, port, path, agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      if (status >= 500) done({ kind: 'server-error', status });
      else if (status >= 200 && status < 400) done({ kind: 'pass', status });
      else done({ kind: 'failure', reason: `status ${status}` });
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      done({ kind: 'failure', reason: err.code ?? err.message }),
    );
    const timer = setTimeout(
      () => done({ kind: 'failure', reason: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
}

interface Watched {
  state: ProbeState;
  inFlight: boolean;
  lastProbeAt: number;
  /** Distinguishes a re-watched port from the probe results of its predecessor. */
  generation: number;
}

export class HealthMonitor {
  private readonly watched = new Map<number, Watched>();
  private readonly timers: Timers;
  private readonly probeReplica: NonNullable<HealthMonitorOptions['probe']>;
  private readonly host: string;
  private readonly path: string;
  private readonly startupProbeMs: number;
  private timer: unknown;
  private generation = 0;

  constructor(private readonly options: HealthMonitorOptions) {
    this.timers = options.timers ?? realTimers;
    this.probeReplica = options.probe ?? probeOnce;
    this.host = options.host ?? '127.0.0.1';
    this.path = options.path ?? '/api/v1/_health';
    this.startupProbeMs = Math.min(options.startupProbeMs ?? STARTUP_PROBE_MS, options.intervalMs);
  }

  /** Starts probing a replica (afresh: a replacement on the same port starts unknown, in grace). */
  watch(port: number): void {
    this.watched.set(port, {
      state: {
        healthy: undefined,
        passedOnce: false,
        consecutiveFailures: 0,
        watchedSinceMs: this.timers.now(),
      },
      inFlight: false,
      lastProbeAt: -Infinity,
      generation: ++this.generation,
    });
    this.probe(port);
    this.schedule();
  }

  unwatch(port: number): void {
    this.watched.delete(port);
    this.schedule();
  }

  /**
   * Forgets the verdict (not the grace, nor since when it answers 503) so the next probe's
   * verdict is reported again.
   */
  recheck(port: number): void {
    const w = this.watched.get(port);
    if (!w) return;
    w.state = { ...w.state, healthy: undefined, consecutiveFailures: 0 };
    this.probe(port);
    this.schedule();
  }

  isWatching(port: number): boolean {
    return this.watched.has(port);
  }

  stop(): void {
    this.watched.clear();
    this.stopTimer();
  }

  /**
   * Sets the one timer for the earliest probe due. A replica with a probe in flight is not due
   * (its answer reschedules), so with every replica healthy the monitor wakes once per
   * interval, and at the startup pace only while a replica is starting. Called after every
   * change to what is due: watch, unwatch, recheck, a tick, a probe's answer.
   */
  private schedule(): void {
    this.stopTimer();
    const now = this.timers.now();
    let due = Infinity;
    for (const w of this.watched.values())
      if (!w.inFlight) due = Math.min(due, w.lastProbeAt + this.periodOf(w, now));
    if (due === Infinity) return;
    this.timer = this.timers.setTimeout(
      () => {
        this.timer = undefined;
        this.tick();
      },
      Math.max(0, due - now),
    );
  }

  private periodOf(w: Watched, now: number): number {
    const starting = !w.state.passedOnce && now - w.state.watchedSinceMs < this.options.startupGraceMs;
    return starting ? this.startupProbeMs : this.options.intervalMs;
  }

  private stopTimer(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const now = this.timers.now();
    for (const [port, w] of this.watched) {
      // A little slack so a timer firing a few ms early does not skip a whole period.
      if (now - w.lastProbeAt >= this.periodOf(w, now) - 5) this.probe(port);
    }
    this.schedule();
  }

  private probe(port: number): void {
    const w = this.watched.get(port);
    if (!w || w.inFlight) return;
    w.inFlight = true;
    w.lastProbeAt = this.timers.now();
    const generation = w.generation;
    void this.probeReplica(this.host, port, this.path, this.options.timeoutMs).then((outcome) => {
      const current = this.watched.get(port);
      if (!current || current.generation !== generation) return;
      current.inFlight = false;
      this.options.onProbe?.(port, outcome, this.timers.now() - current.lastProbeAt);
      const verdict = judgeProbe(current.state, outcome, this.timers.now(), this.options);
      current.state = verdict.state;
      this.schedule();
      if (verdict.change) this.options.onHealthChange(port, verdict.change.health, verdict.change.reason);
    });
  }
}
