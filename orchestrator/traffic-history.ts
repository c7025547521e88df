/**
 * The last ten minutes as the dashboard charts them: one sample a second of the requests the
 * front door received, the 5xx it answered, and each pool's replica count. Counting is two
 * integer increments per request; everything else happens once a second.
 */
export interface TrafficSample {
  /** Epoch ms at the end of the second the sample covers. */
  t: number;
  requests: number;
  errors: number;
  /** Replicas per pool (every replica the pool has, whatever its state). */
  replicas: Record<string, number>;
}

export const SAMPLE_INTERVAL_MS = 1000;
export const HISTORY_SAMPLES = 600;

export class TrafficHistory {
  private readonly samples: TrafficSample[] = [];
  private requests = 0;
  private errors = 0;

  constructor(readonly capacity = HISTORY_SAMPLES) {}

  countRequest(): void {
    this.requests++;
  }

  countResponse(status: number): void {
    if (status >= 500) this.errors++;
  }

  /** Closes the current interval: its counts become one sample and start again from zero. */
  sample(t: number, replicas: Record<string, number>): TrafficSample {
    const sample = { t, requests: this.requests, errors: this.errors, replicas };
    this.requests = 0;
    this.errors = 0;
    this.samples.push(sample);
    if (this.samples.length > this.capacity) this.samples.splice(0, this.samples.length - this.capacity);
    return sample;
  }

  /** Oldest first. */
  recent(): TrafficSample[] {
    return [...this.samples];
  }
}
