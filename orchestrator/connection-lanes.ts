/**
 * Who may take one of a replica's upstream connections next. Pure bookkeeping: no timers, no I/O.
 *
 * A replica gets at most `connections` requests at once; the rest wait here, in three lanes:
 * - **reads** (`GET`, `HEAD`) may use every connection and are let in before any waiting write;
 * - **short writes** (other methods with no body or a small one: sign-ins, votes, deletions)
 *   may have at most `shortWrites` in flight;
 * - **uploads** (a large or chunked body) may use what is left once the reads' reserve and the
 *   short writes' share are set aside.
 * A flood of short writes (sign-ins that hash a password, or are shed) therefore waits here,
 * where waiting costs nothing, instead of queueing in the replica's event loop ahead of its
 * reads and its health probes; slow uploads cannot take the short writes' connections, nor
 * short writes the uploads'; and a read that has to wait is next in line
 * (docs/orchestrator.md, "Connections per replica").
 */
export interface LaneWaiter {
  /** Called once, when the waiter holds a connection slot; it must `leave()` when done. */
  enter(): void;
}

export type LaneKind = 'read' | 'short-write' | 'upload';

export interface LaneLimits {
  /** Requests in flight to the replica at most, whatever their kind. */
  connections: number;
  /** Of those, how many only reads may use. */
  reservedForReads: number;
  /** Short writes in flight at most. */
  shortWrites: number;
}

/** What each kind may have in flight; every kind has at least one connection. */
export function laneCaps(limits: LaneLimits): Record<LaneKind, number> {
  const connections = Math.max(1, limits.connections);
  const forWrites = Math.max(1, connections - limits.reservedForReads);
  const shortWrites = Math.max(1, Math.min(limits.shortWrites, forWrites));
  return { read: connections, 'short-write': shortWrites, upload: Math.max(1, forWrites - shortWrites) };
}

/** In the order a free connection is offered to them. */
const KINDS: readonly LaneKind[] = ['read', 'short-write', 'upload'];

export class ConnectionLanes {
  private active = 0;
  private readonly activeOf: Record<LaneKind, number> = { read: 0, 'short-write': 0, upload: 0 };
  private readonly lanes: Record<LaneKind, LaneWaiter[]> = { read: [], 'short-write': [], upload: [] };
  private readonly caps: Record<LaneKind, number>;
  private readonly connections: number;

  constructor(limits: LaneLimits) {
    this.caps = laneCaps(limits);
    this.connections = this.caps.read;
  }

  /** Enters at once when a slot is free for this kind of request, otherwise waits in its lane. */
  join(waiter: LaneWaiter, kind: LaneKind): void {
    if (this.lanes[kind].length === 0 && this.mayEnter(kind)) {
      this.enter(waiter, kind);
      return;
    }
    this.lanes[kind].push(waiter);
  }

  /** Gives a waiter's place up before it entered (its client left); false if it was not waiting. */
  withdraw(waiter: LaneWaiter): boolean {
    for (const kind of KINDS) {
      const lane = this.lanes[kind];
      const at = lane.indexOf(waiter);
      if (at !== -1) {
        lane.splice(at, 1);
        return true;
      }
    }
    return false;
  }

  /** A slot of `kind` is free again: the next waiting read enters, else the next write that may. */
  leave(kind: LaneKind): void {
    this.active -= 1;
    this.activeOf[kind] -= 1;
    for (const next of KINDS) {
      if (this.lanes[next].length > 0 && this.mayEnter(next)) {
        this.enter(this.lanes[next].shift()!, next);
        return;
      }
    }
  }

  /** Takes every waiter out, for shutting down; none of them enters. */
  drop(): LaneWaiter[] {
    return KINDS.flatMap((kind) => this.lanes[kind].splice(0));
  }

  get waiting(): number {
    return this.lanes.read.length + this.lanes['short-write'].length + this.lanes.upload.length;
  }

  /** Nothing in flight and nothing waiting. */
  get idle(): boolean {
    return this.active === 0 && this.waiting === 0;
  }

  private mayEnter(kind: LaneKind): boolean {
    return this.active < this.connections && this.activeOf[kind] < this.caps[kind];
  }

  private enter(waiter: LaneWaiter, kind: LaneKind): void {
    this.active += 1;
    this.activeOf[kind] += 1;
    waiter.enter();
  }
}
