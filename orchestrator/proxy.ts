/**
 * The only place that speaks HTTP to the replicas. Each request is streamed both ways, never
 * buffered or parsed, over keep-alive connections held by one undici `Pool` per replica port.
 *
 * undici's low-level `dispatch` is used rather than `request`/`stream` (no intermediate
 * Readable per response) and rather than `node:http`'s client (whose request object may
 * swallow body bytes before the socket connects, which would make the refused-connection
 * retry unsafe): undici reads the request body only once a connection is up and the request
 * is being written, so a request that failed to connect can be sent, untouched, to the next
 * replica — and a request that reached a replica is never sent again.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { Logger } from './log';

/** The slice of the balancer the proxy needs (the balancer does not know about HTTP). */
export interface ProxyTargets {
  next(): number | undefined;
  acquire(port: number): void;
  release(port: number): void;
  setInRotation(port: number, inRotation: boolean): void;
}

export interface ForwardTarget {
  poolName: string;
  targets: ProxyTargets;
  onUndeliverable?(poolName: string, port: number, error: Error): void;
}

export interface UpstreamProxyOptions {
  logger: Logger;
  upstreamHost?: string;
  connectTimeoutMs?: number;
  /** Longest wait for a replica's response headers before answering 504. */
  headersTimeoutMs?: number;
  /** Longest silence between two body chunks from a replica. */
  bodyTimeoutMs?: number;
  connectionsPerReplica?: number;
}

const DEFAULTS = {
  upstreamHost: '127.0.0.1',
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 60_000,
  bodyTimeoutMs: 60_000,
  connectionsPerReplica: 128,
};

/** RFC 9110 §7.6.1: meaningful for one connection only, never forwarded. */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // The front door answers `100 Continue` itself; the replica gets the body without waiting.
  'expect',
]);

/**
 * Failures that happen while connecting, so no byte of the request reached the replica
 * and it is safe to deliver the request elsewhere.
 */
const CONNECT_FAILURES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

const JSON_EMPTY = '{}';

export class UpstreamProxy {
  private readonly pools = new Map<number, Pool>();
  private readonly options: Required<UpstreamProxyOptions>;

  constructor(options: UpstreamProxyOptions) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Forwards one request to the next replica of the target, or answers 503 when none is in rotation. */
  forward(req: IncomingMessage, res: ServerResponse, target: ForwardTarget): void {
    const port = target.targets.next();
    if (port === undefined) {
      answerNoReplica(res);
      return;
    }
    new Exchange(this, req, res, target, port, 0).start();
  }

  dispatcherFor(port: number): Pool {
    let pool = this.pools.get(port);
    if (!pool) {
      const o = this.options;
      pool = new Pool(`http://${o.upstreamHost}:${port}`, {
        connections: o.connectionsPerReplica,
        pipelining: 1,
        connectTimeout: o.connectTimeoutMs,
        headersTimeout: o.headersTimeoutMs,
        bodyTimeout: o.bodyTimeoutMs,
      });
      // A pool-level error (e.g. a socket failing between requests) must never crash the process.
      pool.on('connectionError', () => {});
      this.pools.set(port, pool);
    }
    return pool;
  }

  get logger(): Logger {
    return this.options.logger;
  }

  /** Closes every upstream connection; requests still running are aborted. */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => {})));
  }
}

/** One request's trip to one replica; a retry is a new exchange with the next replica. */
class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private sent = false;
  private settled = false;
  private clientGone = false;
  private readonly onClientClose = () => {
    if (this.settled || this.res.writableFinished) return;
    this.clientGone = true;
    this.controller?.abort(new Error('client closed the connection'));
  };
  private readonly onDrain = () => this.controller?.resume();

  constructor(
    private readonly proxy: UpstreamProxy,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly target: ForwardTarget,
    private readonly port: number,
    private readonly attempt: number,
  ) {}

  start(): void {
    this.target.targets.acquire(this.port);
    this.res.once('close', this.onClientClose);
    const req = this.req;
    this.proxy.dispatcherFor(this.port).dispatch(
      {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: forwardedRequestHeaders(req),
        body: hasRequestBody(req) ? req : null,
      },
      this,
    );
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    this.sent = true;
    if (this.clientGone) controller.abort(new Error('client closed the connection'));
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    this.controller = controller;
    if (this.res.headersSent || this.res.destroyed) return;
    const out = withoutHopByHop(headers);
    if (statusMessage) this.res.writeHead(statusCode, statusMessage, out);
    else this.res.writeHead(statusCode, out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', this.onDrain);
    }
  }

  onResponseEnd(): void {
    this.settle();
    this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.settle();
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (this.clientGone) return;

    if (!this.sent && CONNECT_FAILURES.has(code)) {
      this.undeliverable(error);
      return;
    }

    this.proxy.logger.warn('replica failed', { pool: this.target.poolName, port: this.port, code, error: error.message });
    if (!this.res.headersSent) {
      const status = code === 'UND_ERR_HEADERS_TIMEOUT' ? 504 : 502;
      answerJson(this.res, status);
    } else {
      // Headers are out: a truncated body must look truncated, not complete.
      this.res.destroy(error);
    }
  }

  private undeliverable(error: Error): void {
    const { targets, poolName, onUndeliverable } = this.target;
    targets.setInRotation(this.port, false);
    this.proxy.logger.warn('replica unreachable, taken out of rotation', {
      pool: poolName,
      port: this.port,
      code: (error as NodeJS.ErrnoException).code,
    });
    try {
      onUndeliverable?.(poolName, this.port, error);
    } catch (callbackError) {
      this.proxy.logger.error('onUndeliverable failed', { error: String(callbackError) });
    }
    if (this.res.headersSent || this.res.destroyed) return;
    if (this.attempt > 0) {
      answerJson(this.res, 502);
      return;
    }
    const nextPort = targets.next();
    if (nextPort === undefined) answerNoReplica(this.res);
    else new Exchange(this.proxy, this.req, this.res, this.target, nextPort, this.attempt + 1).start();
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.res.off('close', this.onClientClose);
    this.res.off('drain', this.onDrain);
    this.target.targets.release(this.port);
  }
}

function hasRequestBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * The client's headers in their original spelling and order, minus hop-by-hop ones, plus
 * the X-Forwarded-* trio. Values set by a proxy in front of this one (the cloud load
 * balancer) are kept for Proto and Host, and extended for For.
 */
export function forwardedRequestHeaders(req: IncomingMessage): string[] {
  const raw = req.rawHeaders;
  const connectionListed = listedInConnection(req.headers.connection);
  const out: string[] = [];
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || connectionListed?.has(lower)) continue;
    if (lower === 'x-forwarded-for') {
      forwardedFor = forwardedFor === undefined ? raw[i + 1] : `${forwardedFor}, ${raw[i + 1]}`;
      continue;
    }
    if (lower === 'x-forwarded-proto') {
      forwardedProto ??= raw[i + 1];
      continue;
    }
    if (lower === 'x-forwarded-host') {
      forwardedHost ??= raw[i + 1];
      continue;
    }
    out.push(name, raw[i + 1]);
  }
  const clientAddress = stripMappedPrefix(req.socket.remoteAddress ?? '');
  out.push('x-forwarded-for', forwardedFor === undefined ? clientAddress : `${forwardedFor}, ${clientAddress}`);
  out.push('x-forwarded-proto', forwardedProto ?? ('encrypted' in req.socket ? 'https' : 'http'));
  const host = forwardedHost ?? req.headers.host;
  if (host !== undefined) out.push('x-forwarded-host', host);
  return out;
}

function withoutHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const connectionListed = listedInConnection(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || connectionListed?.has(name)) continue;
    out[name] = headers[name];
  }
  return out;
}

function listedInConnection(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const tokens = (Array.isArray(value) ? value.join(',') : value).split(',');
  const names = new Set<string>();
  for (const token of tokens) {
    const name = token.trim().toLowerCase();
    if (name !== '' && name !== 'close' && name !== 'keep-alive') names.add(name);
  }
  return names.size === 0 ? undefined : names;
}

function stripMappedPrefix(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

export function answerNoReplica(res: ServerResponse): void {
  answerJson(res, 503, { 'retry-after': '1' });
}

export function answerJson(res: ServerResponse, status: number, extra: OutgoingHttpHeaders = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(JSON_EMPTY),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(JSON_EMPTY);
}
