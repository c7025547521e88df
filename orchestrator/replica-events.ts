/**
 * The dashboard's events are the orchestrator's log lines: every state change is logged once
 * with its reason, and this turns the lines about replicas and scaling into events (started,
 * healthy, unhealthy, replaced, backoff, draining, drained, scaled, adopted, ...). Reading the
 * log rather than hooking each decision keeps the two from ever telling different stories.
 */
import type { LogFields } from '../common/log';

export type EventKind =
  | 'adopted'
  | 'started'
  | 'replaced'
  | 'healthy'
  | 'unhealthy'
  | 'exited'
  | 'out-of-rotation'
  | 'backoff'
  | 'draining'
  | 'drained'
  | 'removed'
  | 'scaled'
  | 'window-ended'
  | 'stray-removed'
  | 'failed';

export interface OrchestratorEvent {
  /** ISO time the line was logged. */
  time: string;
  kind: EventKind;
  pool: string;
  port: number | null;
  /** Container id or `pid:<n>`. */
  id: string | null;
  reason: string;
}

/** The outcome of one scaling window, as the dashboard shows it until the next one. */
export interface ScalingDecision {
  at: string;
  count: number;
  desired: number;
  reason: string;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

/**
 * Stateful only in what one line cannot say alone: a `replica started` line is a replacement
 * when the same port's previous start said so, and the start's reason comes from that line.
 */
export class ReplicaEventReader {
  private readonly pendingStarts = new Map<string, { replacing: boolean; reason: string }>();
  private readonly decisions = new Map<string, ScalingDecision>();
  private readonly startTimes = new Map<string, string>();

  /** The event this log line stands for, or null for lines that are not replica or scaling events. */
  read(msg: string, fields: LogFields, time: string): OrchestratorEvent | null {
    const pool = str(fields.pool);
    if (pool === null) return null;
    const port = num(fields.port);
    const id = str(fields.id);
    const reason = str(fields.reason) ?? '';
    const event = (kind: EventKind, why: string): OrchestratorEvent => ({
      time,
      kind,
      pool,
      port,
      id,
      reason: why,
    });
    const key = `${pool}:${port}`;
    switch (msg) {
      case 'replica state':
        switch (fields.to) {
          case 'starting':
            if (reason === 'adopted from a previous run') return event('adopted', reason);
            this.pendingStarts.set(key, { replacing: reason.startsWith('replacing: '), reason });
            return null;
          case 'running':
            return event('healthy', reason);
          case 'replacing':
            return event('unhealthy', reason);
          case 'backoff':
            return event('backoff', reason);
          case 'draining':
            return event('draining', reason);
          case 'stopping':
            return reason === 'orchestrator shutting down' ? null : event('drained', reason);
          default:
            return null;
        }
      case 'replica started': {
        const pending = this.pendingStarts.get(key);
        this.pendingStarts.delete(key);
        if (id !== null) this.startTimes.set(id, time);
        return pending?.replacing
          ? event('replaced', `new ${id ?? 'replica'} ${pending.reason}`)
          : event('started', pending?.reason ?? '');
      }
      case 'replica exited':
        return event('exited', reason);
      case 'replica out of rotation':
        return event('out-of-rotation', reason);
      case 'replica removed':
        if (id !== null) this.startTimes.delete(id);
        return event('removed', reason);
      case 'removing stray replica':
        return event('stray-removed', reason);
      case 'replica lifecycle step failed':
        return event('failed', str(fields.error) ?? reason);
      case 'desired replicas changed':
        return event('scaled', `${String(fields.from)} → ${String(fields.to)} replicas: ${reason}`);
      case 'scaling window ended': {
        const count = num(fields.count) ?? 0;
        const desired = num(fields.desired) ?? 0;
        const why = reason || `${count} counted requests → ${desired} replicas`;
        this.decisions.set(pool, { at: time, count, desired, reason: why });
        return event('window-ended', why);
      }
      default:
        return null;
    }
  }

  lastDecision(pool: string): ScalingDecision | null {
    return this.decisions.get(pool) ?? null;
  }

  /** When this run started the replica; null for one adopted from a previous run. */
  startedAt(id: string | null): string | null {
    return id === null ? null : (this.startTimes.get(id) ?? null);
  }
}
