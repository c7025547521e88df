/**
 * Everything the dashboard shows beyond the pools' own status, gathered where it happens:
 * events read from the log lines (scrubbed of the config's secrets on the way to the log),
 * each replica's last health probe, and the front door's traffic sampled once a second.
 * It only observes; nothing in the orchestrator waits for it or reads from it.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { PoolConfig } from './config';
import { EventBuffer, type Numbered } from './event-buffer';
import type { ProbeOutcome } from './health-monitor';
import type { LogFields, Logger } from '../common/log';
import { scrubFields, scrubSecrets, secretsOf } from './redact';
import { ReplicaEventReader, type OrchestratorEvent, type ScalingDecision } from './replica-events';
import { SAMPLE_INTERVAL_MS, TrafficHistory, type TrafficSample } from './traffic-history';

export const EVENTS_KEPT = 100;

export interface ProbeReport {
  at: string;
  ok: boolean;
  /** `200`, `500`, `ECONNREFUSED`, `no answer within 800 ms`, ... */
  result: string;
  latencyMs: number;
}

export type NumberedEvent = OrchestratorEvent & Numbered;

export class DashboardFeed {
  readonly events = new EventBuffer<OrchestratorEvent>(EVENTS_KEPT);
  readonly traffic = new TrafficHistory();
  private readonly reader = new ReplicaEventReader();
  private readonly probes = new Map<number, ProbeReport>();
  private readonly secrets: string[];
  private readonly sampleListeners = new Set<(sample: TrafficSample) => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(pools: readonly PoolConfig[]) {
    this.secrets = secretsOf(pools);
  }

  /** A logger that writes through `inner` with secrets scrubbed and turns replica lines into events. */
  logger(inner: Logger): Logger {
    const emit =
      (level: keyof Logger) =>
      (msg: string, fields: LogFields = {}): void => {
        const clean = scrubFields(fields, this.secrets);
        const text = scrubSecrets(msg, this.secrets);
        inner[level](text, clean);
        if (level === 'debug') return;
        const event = this.reader.read(text, clean, new Date().toISOString());
        if (!event) return;
        if (event.kind === 'started' || event.kind === 'replaced') {
          if (event.port !== null) this.probes.delete(event.port);
        }
        this.events.push(event);
      };
    return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
  }

  recordProbe(port: number, outcome: ProbeOutcome, latencyMs: number): void {
    this.probes.set(port, {
      at: new Date().toISOString(),
      ok: outcome.kind === 'pass',
      result: outcome.kind === 'failure' ? outcome.reason : String(outcome.status),
      latencyMs,
    });
  }

  /** Counts every request the server receives and every 5xx it answers. */
  observe(server: Server): void {
    const traffic = this.traffic;
    // One shared listener, not a closure per request: this runs on every request.
    function answered(this: ServerResponse): void {
      traffic.countResponse(this.statusCode);
    }
    server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
      traffic.countRequest();
      res.once('finish', answered);
    });
  }

  /** Samples the traffic once a second from now on; `replicas` gives each pool's count. */
  start(replicas: () => Record<string, number>): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      const sample = this.traffic.sample(Date.now(), replicas());
      for (const listener of [...this.sampleListeners]) listener(sample);
    }, SAMPLE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  onSample(listener: (sample: TrafficSample) => void): () => void {
    this.sampleListeners.add(listener);
    return () => this.sampleListeners.delete(listener);
  }

  lastProbe(port: number): ProbeReport | null {
    return this.probes.get(port) ?? null;
  }

  startedAt(id: string | null): string | null {
    return this.reader.startedAt(id);
  }

  lastDecision(pool: string): ScalingDecision | null {
    return this.reader.lastDecision(pool);
  }
}
