/**
 * Who may take one of a replica's upstream connections next. Pure bookkeeping: no timers, no I/O.
 *
 * A replica gets at most `limit` requests at once; the rest wait here, in two lanes. Reads
 * (`GET`, `HEAD`) may use every connection and are let in before any waiting write; other
 * methods may use all but `reservedForReads` of them. A flood of slow writes (sign-ins that
 * hash a password) therefore never holds the last connections, and a read that has to wait is
 * next in line, not behind hundreds of writes (docs/orchestrator.md, "Connections per replica").
 */
export interface LaneWaiter {
  /** Called once, when the waiter holds a connection slot; it must `leave()` when done. */
  enter(): void;
}

export class ConnectionLanes {
  private active = 0;
  private readonly reads: LaneWaiter[] = [];
  private readonly writes: LaneWaiter[] = [];
  private readonly writeLimit: number;

  constructor(
    private readonly limit: number,
    reservedForReads: number,
  ) {
    // A write always has at least one connection it may use.
    this.writeLimit = Math.max(1, limit - reservedForReads);
  }

  /** Enters at once when a slot is free for this kind of request, otherwise waits in its lane. */
  join(waiter: LaneWaiter, read: boolean): void {
    const lane = read ? this.reads : this.writes;
    if (lane.length === 0 && this.active < (read ? this.limit : this.writeLimit)) {
      this.active += 1;
      waiter.enter();
      return;
    }
    lane.push(waiter);
  }

  /** Gives a waiter's place up before it entered (its client left); false if it was not waiting. */
  withdraw(waiter: LaneWaiter): boolean {
    for (const lane of [this.reads, this.writes]) {
      const at = lane.indexOf(waiter);
      if (at !== -1) {
        lane.splice(at, 1);
        return true;
      }
    }
    return false;
  }

  /** A slot is free again: the next waiting read enters, else the next write if it may. */
  leave(): void {
    this.active -= 1;
    let next: LaneWaiter | undefined;
    if (this.reads.length > 0 && this.active < this.limit) next = this.reads.shift();
    else if (this.writes.length > 0 && this.active < this.writeLimit) next = this.writes.shift();
    if (next === undefined) return;
    this.active += 1;
    next.enter();
  }

  /** Takes every waiter out, for shutting down; none of them enters. */
  drop(): LaneWaiter[] {
    return [...this.reads.splice(0), ...this.writes.splice(0)];
  }

  get waiting(): number {
    return this.reads.length + this.writes.length;
  }
}
