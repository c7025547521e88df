/**
 * The last N events, each numbered once, with listeners told of every new one as it is added.
 * The admin page's live stream and its catch-up (`/status`) both read from here, so a page
 * that reconnects finds every event it missed (within N) under the same number it would have
 * been pushed with, and can show each exactly once.
 */
export interface Numbered {
  seq: number;
}

export class EventBuffer<T> {
  private readonly items: Array<T & Numbered> = [];
  private readonly listeners = new Set<(event: T & Numbered) => void>();
  private nextSeq = 1;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`capacity must be ≥ 1, got ${capacity}`);
  }

  /** Numbers the event, keeps it (dropping the oldest beyond capacity) and tells every listener. */
  push(event: T): T & Numbered {
    const numbered = { ...event, seq: this.nextSeq++ };
    this.items.push(numbered);
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
    for (const listener of [...this.listeners]) {
      try {
        listener(numbered);
      } catch {
        // One broken listener (a closed connection) must not keep the event from the others.
      }
    }
    return numbered;
  }

  /** Oldest first. */
  recent(): Array<T & Numbered> {
    return [...this.items];
  }

  /** The number the next event will get minus one: 0 before any event. */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  subscribe(listener: (event: T & Numbered) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
  }
}
