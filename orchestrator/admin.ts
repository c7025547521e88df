/**
 * The read-only admin address: `GET /status` (JSON), `GET /metrics` (Prometheus), the
 * dashboard page at `/` and its live feed at `/events` (Server-Sent Events). Bound to
 * loopback by default, separate from the front door so it is never forwarded or counted.
 * Metrics are read from the status snapshot at scrape time, so they cannot drift from what
 * `/status` says. Nothing here changes anything, and no configured secret is ever shown.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReplicaStatus } from './pool';
import type { WindowSnapshot } from './autoscaler';
import type { DashboardFeed, NumberedEvent, ProbeReport } from './dashboard-feed';
import type { DashboardFiles } from './dashboard-assets';
import type { ScalingDecision } from './replica-events';

/** A replica as the admin address shows it: the pool's view plus what the dashboard observed. */
export interface ReplicaView extends ReplicaStatus {
  /** When this run started it; null for a replica adopted from a previous run. */
  startedAt: string | null;
  lastProbe: ProbeReport | null;
}

export interface PoolStatus {
  name: string;
  autoscale: boolean;
  minReplicas: number;
  maxReplicas: number;
  desiredReplicas: number;
  /** The scaling window (null when the pool does not autoscale). */
  window:
    | (WindowSnapshot & {
        windowSeconds: number;
        requestsPerReplica: number;
        lastDecision: ScalingDecision | null;
      })
    | null;
  countedRequests: number;
  /** What replicas run (the image, or the command with any URL password masked). */
  image: string | null;
  command: string[] | null;
  /** The replicas' environment, every value redacted. */
  env: Record<string, string>;
  replicas: ReplicaView[];
}

export interface OrchestratorStatus {
  startedAt: string;
  /** The orchestrator's clock when this was taken, so a page elsewhere can count down the window. */
  now: string;
  runtime: string;
  pools: PoolStatus[];
  /** The last events, oldest first: what a reconnecting dashboard catches up from. */
  events: NumberedEvent[];
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

/** One SSE connection per open dashboard; a few is plenty, many is a leak or an attack. */
export const MAX_EVENT_STREAMS = 32;
/** A stream whose client stopped reading is dropped before its buffer grows past this. */
const MAX_STREAM_BACKLOG_BYTES = 1 << 20;
/** A pause before the browser reconnects a dropped stream. */
const SSE_RETRY_MS = 1000;

const PAGE_PATHS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};

/** The page may load only its own script and style and talk only to this address. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE_HEADERS = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-cache',
};

const PATHS = ['/', '/status', '/metrics', '/events', '/history'];

export interface AdminServerOptions {
  status: () => OrchestratorStatus;
  /** Events, probes and traffic history; without it `/events` and `/history` are empty. */
  feed?: DashboardFeed;
  /** The dashboard's built files, loaded when the page is first asked for. */
  loadDashboard?: () => Promise<DashboardFiles>;
}

/**
 * Whether a request's Host names this machine by address or as localhost. A loopback-bound
 * server answers only those, so a web page cannot reach it through a name it controls
 * (DNS rebinding) and read the status from a browser on the operator's machine.
 */
export function isLocalHostHeader(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost');
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address === 'localhost';
}

function sendJson(res: http.ServerResponse, status: number, value: unknown, pretty = false): void {
  const body = pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value);
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    })
    .end(body);
}

export function createAdminServer(options: AdminServerOptions): AdminServer {
  const { status, feed } = options;
  const { registry, counted } = createMetrics(status);
  let files: Promise<DashboardFiles> | undefined;
  let loopbackOnly = true;
  const streams = new Set<http.ServerResponse>();

  const servePage = (res: http.ServerResponse, page: { file: string; type: string }, head: boolean) => {
    files ??= (options.loadDashboard ?? (() => Promise.reject(new Error('no dashboard configured'))))();
    files.then(
      (loaded) => {
        const content = loaded[page.file];
        if (content === undefined) {
          sendJson(res, 500, { error: `the dashboard build has no ${page.file}` });
          return;
        }
        res.writeHead(200, {
          ...PAGE_HEADERS,
          'content-type': page.type,
          'content-length': Buffer.byteLength(content),
        });
        res.end(head ? undefined : content);
      },
      (err: Error) => {
        // Tried again on the next request: a build error fixed in the source then shows.
        files = undefined;
        sendJson(res, 500, { error: `dashboard unavailable: ${err.message}` });
      },
    );
  };

  const serveEvents = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!feed) {
      sendJson(res, 404, { error: 'no event feed' });
      return;
    }
    if (streams.size >= MAX_EVENT_STREAMS) {
      res.setHeader('retry-after', '10');
      sendJson(res, 503, { error: `too many event streams open (at most ${MAX_EVENT_STREAMS})` });
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // Proxies in front (none by default) must not hold the stream back.
      'x-accel-buffering': 'no',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    streams.add(res);
    const send = (text: string) => {
      if (res.writableLength > MAX_STREAM_BACKLOG_BYTES) {
        res.destroy();
        return;
      }
      res.write(text);
    };
    // The status follows each burst of events at once, so the table changes with them.
    let statusQueued = false;
    const sendStatusSoon = () => {
      if (statusQueued) return;
      statusQueued = true;
      setImmediate(() => {
        statusQueued = false;
        // Without the events: the stream has already pushed each of them on its own.
        const current = JSON.stringify({ ...status(), events: undefined });
        if (!res.destroyed) send(`event: status\ndata: ${current}\n\n`);
      });
    };
    const unsubscribeEvents = feed.events.subscribe((event) => {
      send(`id: ${event.seq}\nevent: change\ndata: ${JSON.stringify(event)}\n\n`);
      sendStatusSoon();
    });
    const unsubscribeSamples = feed.onSample((sample) => {
      send(`event: sample\ndata: ${JSON.stringify(sample)}\n\n`);
      sendStatusSoon();
    });
    res.on('close', () => {
      streams.delete(res);
      unsubscribeEvents();
      unsubscribeSamples();
    });
    send(`retry: ${SSE_RETRY_MS}\n\n`);
  };

  const server = http.createServer((req, res) => {
    req.resume();
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' })
        .end('{"error":"method not allowed"}');
      return;
    }
    if (loopbackOnly && !isLocalHostHeader(req.headers.host)) {
      sendJson(res, 421, { error: 'this address answers only to localhost or an IP address' });
      return;
    }
    if (path === '/status') {
      sendJson(res, 200, status(), true);
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
    if (path === '/events') {
      serveEvents(req, res);
      return;
    }
    if (path === '/history') {
      sendJson(res, 200, { samples: feed?.traffic.recent() ?? [] });
      return;
    }
    const page = PAGE_PATHS[path];
    if (page) {
      servePage(res, page, req.method === 'HEAD');
      return;
    }
    sendJson(res, 404, { error: 'not found', paths: PATHS });
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
          loopbackOnly = isLoopback((server.address() as AddressInfo).address);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        for (const stream of streams) stream.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
