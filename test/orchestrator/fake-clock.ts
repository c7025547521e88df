import type { Timers } from '../../orchestrator/autoscaler';

/** A manual clock: time moves only when a test calls `advance`, firing due timers in order. */
export class FakeClock implements Timers {
  private current: number;
  private nextHandle = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 1_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const handle = this.nextHandle++;
    this.pending.set(handle, { at: this.current + ms, fn });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  advance(ms: number): void {
    const until = this.current + ms;
    for (;;) {
      const due = [...this.pending.entries()]
        .filter(([, t]) => t.at <= until)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.current = due[1].at;
      due[1].fn();
    }
    this.current = until;
  }

  get pendingTimers(): number {
    return this.pending.size;
  }
}
