/**
 * The read-only admin endpoint: `GET /status` (JSON) and `GET /metrics` (Prometheus).
 * Bound to loopback by default, separate from the front door so it is never forwarded or
 * counted. Metrics are read from the status snapshot at scrape time, so they cannot drift
 * from what `/status` says.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReplicaStatus } from './pool';
import type { WindowSnapshot } from './autoscaler';

export interface PoolStatus {
  name: string;
  autoscale: boolean;
  minReplicas: number;
  maxReplicas: number;
  desiredReplicas: number;
  /** The scaling window (null when the pool does not autoscale). */
  window: (WindowSnapshot & { windowSeconds: number; requestsPerReplica: number }) | null;
  countedRequests: number;
  replicas: ReplicaStatus[];
}

export interface OrchestratorStatus {
  startedAt: string;
  runtime: string;
  pools: PoolStatus[];
}

export interface AdminServer {
  server: http.Server;
  registry: Registry;
  /** Counts one request routed to a pool (the front door's counted requests). */
  countRequest(pool: string): void;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

export function createMetrics(status: () => OrchestratorStatus): {
  registry: Registry;
  counted: Counter<'pool'>;
} {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'orchestrator_' });
  const counted = new Counter({
    name: 'orchestrator_counted_requests_total',
    help: 'Requests under /api/v1/ counted for auto-scaling',
    labelNames: ['pool'],
    registers: [registry],
  });
  const perPool = (name: string, help: string, read: (p: PoolStatus) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['pool'],
      registers: [registry],
      collect() {
        this.reset();
        for (const p of status().pools) this.set({ pool: p.name }, read(p));
      },
    });
  const perReplica = (name: string, help: string, read: (r: ReplicaStatus) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['pool', 'port'],
      registers: [registry],
      collect() {
        this.reset();
        for (const p of status().pools)
          for (const r of p.replicas) this.set({ pool: p.name, port: String(r.port) }, read(r));
      },
    });
  perPool('orchestrator_desired_replicas', 'Replica count the pool is brought to', (p) => p.desiredReplicas);
  perPool(
    'orchestrator_window_requests',
    'Counted requests in the current scaling window',
    (p) => p.window?.count ?? 0,
  );
  perPool(
    'orchestrator_healthy_replicas',
    'Replicas in rotation',
    (p) => p.replicas.filter((r) => r.inRotation).length,
  );
  new Gauge({
    name: 'orchestrator_replicas',
    help: 'Replicas by lifecycle state',
    labelNames: ['pool', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of status().pools) {
        const byState = new Map<string, number>();
        for (const r of p.replicas) byState.set(r.state, (byState.get(r.state) ?? 0) + 1);
        for (const [state, n] of byState) this.set({ pool: p.name, state }, n);
      }
    },
  });
  perReplica('orchestrator_replica_up', '1 when the replica passes its health probe', (r) =>
    r.health === 'healthy' ? 1 : 0,
  );
  perReplica(
    'orchestrator_replica_restarts',
    'Times the replica on this port was replaced',
    (r) => r.restarts,
  );
  perReplica(
    'orchestrator_replica_backoff_seconds',
    'Current restart backoff of the replica on this port',
    (r) => r.backoffMs / 1000,
  );
  perReplica('orchestrator_replica_in_flight', 'Requests in flight to the replica', (r) => r.inFlight);
  return { registry, counted };
}

export function createAdminServer(status: () => OrchestratorStatus): AdminServer {
  const { registry, counted } = createMetrics(status);
  const server = http.createServer((req, res) => {
    req.resume();
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' })
        .end('{"error":"method not allowed"}');
      return;
    }
    if (path === '/status') {
      const body = JSON.stringify(status(), null, 2);
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: Error) =>
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}`),
      );
      return;
    }
    res
      .writeHead(404, { 'content-type': 'application/json' })
      .end('{"error":"not found","paths":["/status","/metrics"]}');
  });
  return {
    server,
    registry,
    countRequest: (pool) => counted.inc({ pool }),
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
