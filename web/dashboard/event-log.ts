/**
 * The page's copy of the last events: the live stream and the catch-up from `/status` both
 * feed it, and an event is kept once by its number however many times it arrives.
 */
import type { NumberedEvent } from '../../orchestrator/dashboard-feed';

export class EventLog {
  private readonly bySeq = new Map<number, NumberedEvent>();

  constructor(private readonly keep: number) {}

  /** Adds the events not seen yet; returns whether anything changed. */
  add(events: readonly NumberedEvent[]): boolean {
    let changed = false;
    for (const event of events) {
      if (this.bySeq.has(event.seq)) continue;
      this.bySeq.set(event.seq, event);
      changed = true;
    }
    if (this.bySeq.size > this.keep) {
      const drop = [...this.bySeq.keys()].sort((a, b) => a - b).slice(0, this.bySeq.size - this.keep);
      for (const seq of drop) this.bySeq.delete(seq);
    }
    return changed;
  }

  clear(): void {
    this.bySeq.clear();
  }

  /** Newest first. */
  newestFirst(): NumberedEvent[] {
    return [...this.bySeq.values()].sort((a, b) => b.seq - a.seq);
  }
}
