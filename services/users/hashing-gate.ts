/**
 * Bounds the deliberate cost of password hashing. Each scrypt takes ~16 MB and tens of
 * milliseconds of a worker thread; unbounded, a flood of sign-ins queues without limit, holds
 * every connection the front door has to this replica, and grows memory with the queue. At
 * most `concurrent` hashes run and `queued` wait; past that the caller is told to come back
 * (503 with Retry-After) at once, which frees its connection for everyone else.
 */
import { availableParallelism } from 'node:os';

/** What a shed caller is told to wait: the queue drains in well under a second. */
export const OVERLOADED_RETRY_AFTER_SECONDS = 1;

export class Overloaded extends Error {
  constructor() {
    super('too many password checks at once');
    this.name = 'Overloaded';
  }
}

export interface HashingGateLimits {
  concurrent: number;
  queued: number;
}

/**
 * The most hashes at once on any host. The gate's whole capacity (these and the queue) must
 * stay below the front door's short writes per replica, or the overflow of a sign-in flood
 * waits in the front door instead of being shed here; on a host with many cores, cores − 1
 * alone would pass that limit.
 */
export const MAX_CONCURRENT_HASHES = 4;

/**
 * One hash per core but one, up to MAX_CONCURRENT_HASHES: each hash keeps a core busy for its whole duration, so on the
 * usual 2-core host two at once left the event loop (and the front door beside it) only what
 * the other processes left over, and its health probes went unanswered under a login flood.
 */
export function defaultHashingLimits(cores = availableParallelism()): HashingGateLimits {
  return { concurrent: Math.min(MAX_CONCURRENT_HASHES, Math.max(1, cores - 1)), queued: 8 };
}

export class HashingGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limits: HashingGateLimits = defaultHashingLimits()) {}

  /** Whether `run` would refuse now: callers shed before doing any other work for the request. */
  get full(): boolean {
    return this.running >= this.limits.concurrent && this.waiting.length >= this.limits.queued;
  }

  /** Runs `work` when a slot is free; throws `Overloaded` at once when the queue is full. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limits.concurrent) {
      if (this.full) throw new Overloaded();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter, so `running` never drops and rises again.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }

  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }
}
