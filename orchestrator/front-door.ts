/**
 * The orchestrator's public HTTP server: `/api/v1/...` goes to the pool owning the longest
 * matching prefix, everything else (the web UI, and `/` as the cloud load balancer's health
 * target) is answered here and never forwarded or counted. `/` answers 503 while any pool
 * has no replica in rotation, so the load balancer sends nothing to a host that cannot serve.
 */
import http from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from '../common/log';
import { answerJson, UpstreamProxy } from './proxy';
import type { ForwardTarget, ProxyTargets, ReplicaFailure, UpstreamProxyOptions } from './proxy';
import { isApiPath, isCountedPath, pathOf, poolForPath } from './path-rules';
import { createStaticFiles } from './static-files';
import type { StaticHandler } from './static-files';

export interface FrontDoorPool {
  name: string;
  pathPrefixes: readonly string[];
  balancer: ProxyTargets & { hasMemberInRotation(): boolean };
}

export interface FrontDoorOptions {
  pools: readonly FrontDoorPool[];
  staticDir?: string;
  onCountedRequest?(poolName: string): void;
  /** A replica failed a proxied request (refused, reset, ejecting 5xx): probe it now. */
  onReplicaFailed?(poolName: string, port: number, failure: ReplicaFailure): void;
  logger: Logger;
  /** Upstream timeouts and connection limits; the defaults suit production. */
  upstream?: Omit<UpstreamProxyOptions, 'logger'>;
  /** How long `close()` lets in-flight requests finish before cutting their connections. */
  closeGraceMs?: number;
}

export interface FrontDoor {
  server: Server;
  listen(port: number, host: string): Promise<void>;
  /** Stops accepting, lets in-flight requests finish, then closes every connection. */
  close(): Promise<void>;
}

interface RoutedPool {
  name: string;
  pathPrefixes: readonly string[];
  target: ForwardTarget;
  serving(): boolean;
}

/** Longer than the cloud load balancer's 60 s idle timeout, so it is always the one to close. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const HEADERS_TIMEOUT_MS = 66_000;
/** Generous for a large upload on a slow link, finite so a stalled client cannot hold a socket forever. */
const REQUEST_TIMEOUT_MS = 300_000;
const DEFAULT_CLOSE_GRACE_MS = 30_000;
/** Time for finished responses to flush before their idle keep-alive sockets are cut. */
const LINGER_MS = 1_000;

export function createFrontDoor(options: FrontDoorOptions): FrontDoor {
  const { logger, onCountedRequest } = options;
  const proxy = new UpstreamProxy({ ...options.upstream, logger });
  const pools: RoutedPool[] = options.pools.map((pool) => ({
    name: pool.name,
    pathPrefixes: pool.pathPrefixes,
    target: { poolName: pool.name, targets: pool.balancer, onReplicaFailed: options.onReplicaFailed },
    serving: () => pool.balancer.hasMemberInRotation(),
  }));
  const serveStatic: StaticHandler | undefined = options.staticDir
    ? createStaticFiles(options.staticDir)
    : undefined;

  // A plain count, not a set of responses: objects as set keys measurably slowed every request.
  let inFlight = 0;
  let closing = false;
  let onIdle: (() => void) | undefined;
  // One listener shared by every response rather than a closure per request.
  const responseClosed = (): void => {
    inFlight -= 1;
    if (!closing) return;
    // Shutting down: a keep-alive connection is closed as soon as its last response is out.
    server.closeIdleConnections();
    if (inFlight === 0) onIdle?.();
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight += 1;
    res.on('close', responseClosed);
    if (closing) res.shouldKeepAlive = false;

    const path = pathOf(req.url ?? '/');
    if (isApiPath(path)) {
      const pool = poolForPath(pools, path);
      if (pool === undefined) {
        answerJson(res, 404);
        return;
      }
      if (onCountedRequest && isCountedPath(path)) {
        try {
          onCountedRequest(pool.name);
        } catch (error) {
          logger.error('onCountedRequest failed', { error: String(error) });
        }
      }
      proxy.forward(req, res, pool.target);
      return;
    }

    // `/` is the cloud load balancer's health check: healthy only while every pool can serve.
    if (path === '/' && !pools.every((pool) => pool.serving())) {
      answerPlain(res, 503, 'Service Unavailable');
      return;
    }
    if (serveStatic) {
      serveStatic(req, res, path).catch((error: unknown) => {
        logger.error('static file failed', { path, error: String(error) });
        if (!res.headersSent) answerPlain(res, 500, 'Internal Server Error');
        else res.destroy();
      });
      return;
    }
    if (path === '/') answerPlain(res, 200, 'OK');
    else answerPlain(res, 404, 'Not Found');
  };

  const server = http.createServer(
    { requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: HEADERS_TIMEOUT_MS },
    handle,
  );
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;

  return {
    server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    },
    async close() {
      if (closing) return;
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const grace = options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
      if (inFlight > 0) await within(grace, new Promise<void>((resolve) => (onIdle = resolve)));
      server.closeIdleConnections();
      await within(LINGER_MS, closed);
      server.closeAllConnections();
      await closed;
      await proxy.close();
    },
  };
}

function answerPlain(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-cache',
  });
  res.end(body);
}

function within(ms: number, promise: Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
