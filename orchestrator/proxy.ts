/**
 * The only place that speaks HTTP to the replicas. Each request is streamed both ways, never
 * buffered or parsed, over keep-alive connections held by one undici `Pool` per replica port.
 *
 * undici's low-level `dispatch` is used rather than `request`/`stream` (no intermediate
 * Readable per response) and rather than `node:http`'s client, which measured about a third
 * slower here and whose request object may take in body bytes before the socket connects
 * (making the refused-connection retry unsafe). undici reads the request body only once a
 * connection is up and the request is being written, so a request that failed to connect can
 * be sent, untouched, to the next replica.
 *
 * A replica gets at most `connectionsPerReplica` requests at once, and at most
 * `shortWritesPerReplica` writes with no or a small body. Those over the limits wait in the
 * proxy's own lanes (`ConnectionLanes`), never in undici's first-come queue: reads go ahead of
 * other methods and a few connections are kept for reads alone, so a flood of sign-ins cannot
 * put a `GET` (or the replica's health probe) behind itself (docs/orchestrator.md,
 * "Connections per replica"). A replica's connections and lanes are dropped once it is out of
 * rotation with nothing in flight or waiting.
 *
 * Retry and passive-health rules (docs/orchestrator.md, "Retries and passive health"):
 * - any request whose connection was refused before a byte was written is sent once more;
 * - a bodyless `GET` or `HEAD` that fails before its response headers (reset, EOF) or is
 *   answered with an ejecting 5xx is sent once more, to a different replica;
 * - every other request that reached a replica is never sent again;
 * - a replica that refuses, resets or answers an ejecting 5xx leaves the rotation at once (a
 *   refusal always; the others unless it is the last one in rotation) and is reported so
 *   that it is probed at once; a passing probe brings it back.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { Logger } from '../common/log';
import { ConnectionLanes } from './connection-lanes';
import type { LaneKind, LaneWaiter } from './connection-lanes';

/** The slice of the balancer the proxy needs (the balancer does not know about HTTP). */
export interface ProxyTargets {
  next(): number | undefined;
  acquire(port: number): void;
  release(port: number): void;
  /** Out of rotation now (see the balancer's rule); returns whether it is out afterwards. */
  eject(port: number, evenIfLast: boolean): boolean;
  isInRotation(port: number): boolean;
}

/** Why a replica failed a proxied request. */
export interface ReplicaFailure {
  /** `refused`: no connection; `reset`: the connection broke before an answer; `status`: an ejecting 5xx. */
  kind: 'refused' | 'reset' | 'status';
  detail: string;
  /** Whether the proxy took it out of rotation (it keeps the last replica in rotation unless it refused). */
  ejected: boolean;
}

export interface ForwardTarget {
  poolName: string;
  targets: ProxyTargets;
  /** Called once per failure of a replica that was in rotation; the owner probes it at once. */
  onReplicaFailed?(poolName: string, port: number, failure: ReplicaFailure): void;
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
  /** Of those, how many only reads (GET/HEAD) may use. */
  connectionsReservedForReads?: number;
  /** Writes with no body or one of at most SHORT_WRITE_BODY_BYTES that may be in flight at once. */
  shortWritesPerReplica?: number;
  /** How often the state of replicas that left the rotation while idle is looked for and dropped. */
  sweepIntervalMs?: number;
  /** Resend a failed bodyless GET/HEAD to another replica (off only to measure what it hides). */
  retryIdempotent?: boolean;
}

/**
 * Measured (docs/orchestrator.md, "Login flood"): with up to 120 sign-ins in flight at the users
 * replica during a flood, a GET waited behind them; with 16 it stays fast. It must stay above
 * what the users replica's hashing gate holds (9 on 2 cores), or the overflow never reaches the
 * replica to be shed and queues here instead; and above its database pool (10).
 */
export const DEFAULT_SHORT_WRITES_PER_REPLICA = 16;

const DEFAULTS = {
  upstreamHost: '127.0.0.1',
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 60_000,
  bodyTimeoutMs: 60_000,
  connectionsPerReplica: 128,
  connectionsReservedForReads: 8,
  shortWritesPerReplica: DEFAULT_SHORT_WRITES_PER_REPLICA,
  sweepIntervalMs: 10_000,
  retryIdempotent: true,
};

/**
 * A body this small arrives with its headers or right behind them, so the request holds its
 * connection about as long as the replica takes to answer; anything larger (or chunked) is an
 * upload, which may hold one for as long as the client takes to send it.
 */
export const SHORT_WRITE_BODY_BYTES = 16 * 1024;

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
]);

/**
 * 5xx answers that say the replica itself is broken. 501 is about the method and 503 is a
 * replica deliberately shedding load or reporting a dependency down: ejecting or retrying on
 * those would only move the pressure onto the others.
 */
export function isEjectingStatus(status: number): boolean {
  return status >= 500 && status !== 501 && status !== 503;
}

const JSON_EMPTY = '{}';

/** The kind of lane a request waits in (connection-lanes.ts). */
export function laneKindOf(method: string, upstream: UpstreamRequest): LaneKind {
  if (method === 'GET' || method === 'HEAD') return 'read';
  if (!upstream.hasBody) return 'short-write';
  const length = upstream.bodyLength;
  return length !== undefined && length <= SHORT_WRITE_BODY_BYTES ? 'short-write' : 'upload';
}

/** What the proxy keeps per replica port, created with its first request. */
interface ReplicaState {
  lanes: ConnectionLanes;
  /** Created when the first request enters. */
  pool: Pool | undefined;
  /** The rotation the port belongs to: once out of it and idle, the state is dropped. */
  targets: ProxyTargets;
}

export class UpstreamProxy {
  private readonly replicas = new Map<number, ReplicaState>();
  private readonly options: Required<UpstreamProxyOptions>;
  private sweepTimer: NodeJS.Timeout | undefined;

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
    const upstream = upstreamRequest(req);
    const method = req.method ?? 'GET';
    upstream.idempotent =
      this.options.retryIdempotent && !upstream.hasBody && (method === 'GET' || method === 'HEAD');
    upstream.lane = laneKindOf(method, upstream);
    new Exchange(this, req, res, target, port, 0, upstream).start();
  }

  /** The replica's state, created for its first request (or its first since it was dropped). */
  replica(port: number, targets: ProxyTargets): ReplicaState {
    let state = this.replicas.get(port);
    if (!state) {
      const o = this.options;
      state = {
        lanes: new ConnectionLanes({
          connections: o.connectionsPerReplica,
          reservedForReads: o.connectionsReservedForReads,
          shortWrites: o.shortWritesPerReplica,
        }),
        pool: undefined,
        targets,
      };
      this.replicas.set(port, state);
      this.ensureSweep();
    }
    return state;
  }

  dispatcherFor(state: ReplicaState, port: number): Pool {
    if (!state.pool) {
      const o = this.options;
      state.pool = new Pool(`http://${o.upstreamHost}:${port}`, {
        connections: o.connectionsPerReplica,
        pipelining: 1,
        connectTimeout: o.connectTimeoutMs,
        headersTimeout: o.headersTimeoutMs,
        bodyTimeout: o.bodyTimeoutMs,
      });
    }
    return state.pool;
  }

  /**
   * Drops the replica's lanes and closes its idle keep-alive connections once it is out of
   * rotation with nothing in flight or waiting: a replica scaled down or replaced never comes
   * back as the same process, and one that returns to rotation gets fresh ones.
   */
  dropIfLeft(port: number): void {
    const state = this.replicas.get(port);
    if (!state || !state.lanes.idle || state.targets.isInRotation(port)) return;
    this.replicas.delete(port);
    void state.pool?.close().catch(() => {});
    if (this.replicas.size === 0) this.stopSweep();
  }

  /** The ports the proxy holds state for (connections, lanes). */
  get replicaPorts(): number[] {
    return [...this.replicas.keys()];
  }

  get logger(): Logger {
    return this.options.logger;
  }

  /** Closes every upstream connection; requests still running are aborted. */
  async close(): Promise<void> {
    this.stopSweep();
    const states = [...this.replicas.values()];
    this.replicas.clear();
    for (const exchange of states.flatMap((s) => s.lanes.drop())) (exchange as Exchange).abandon();
    await Promise.all(states.map((s) => s.pool?.destroy().catch(() => {})));
  }

  /**
   * A replica leaving the rotation with a request in flight is dropped when that request
   * settles; one that leaves while idle is found by this sweep.
   */
  private ensureSweep(): void {
    if (this.sweepTimer) return;
    this.sweepTimer = setInterval(() => {
      for (const port of [...this.replicas.keys()]) this.dropIfLeft(port);
    }, this.options.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  private stopSweep(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }
}

/**
 * One request's trip to one replica; a retry is a new exchange with the next replica.
 *
 * It implements undici's raw handler callbacks (onConnect/onHeaders/onData/onComplete/onError)
 * rather than the newer controller-based ones: those are undici's own internal protocol (the
 * newer ones are an adapter over them) and hand over the response headers as the raw list,
 * forwarded without first being parsed into an object on the hottest path of the orchestrator.
 */
class Exchange implements Dispatcher.DispatchHandler, LaneWaiter {
  private abortUpstream: ((error: Error) => void) | undefined;
  private resumeUpstream: (() => void) | undefined;
  private sent = false;
  private settled = false;
  private clientGone = false;
  /** Set once this attempt's answer was given up for a retry; its body is read and dropped. */
  private discarding = false;
  /** Waiting in the replica's lanes for a connection slot. */
  private waiting = false;
  private holdsSlot = false;
  private readonly replica: ReplicaState;

  constructor(
    private readonly proxy: UpstreamProxy,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly target: ForwardTarget,
    private readonly port: number,
    private readonly attempt: number,
    private readonly upstream: UpstreamRequest,
  ) {
    this.replica = proxy.replica(port, target.targets);
  }

  start(): void {
    this.target.targets.acquire(this.port);
    (this.res as ExchangeResponse)[kExchange] = this;
    this.res.on('close', onResponseClose);
    this.waiting = true;
    this.replica.lanes.join(this, this.upstream.lane);
  }

  enter(): void {
    this.waiting = false;
    this.holdsSlot = true;
    this.proxy.dispatcherFor(this.replica, this.port).dispatch(
      {
        method: this.req.method ?? 'GET',
        path: this.req.url ?? '/',
        headers: this.upstream.headers,
        body: this.upstream.hasBody ? this.req : null,
      },
      this,
    );
  }

  onConnect(abort: (error?: Error) => void): void {
    this.abortUpstream = abort;
    this.sent = true;
    if (this.clientGone) abort(clientClosed());
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    // Interim 1xx answers are the replica's business; the client gets the final one.
    if (statusCode < 200) return true;
    this.resumeUpstream = resume;
    if (isEjectingStatus(statusCode)) {
      const ejected = this.failed('status', `answered ${statusCode}`);
      if (this.upstream.idempotent && this.attempt === 0 && ejected && this.retryElsewhere()) {
        this.discarding = true;
        return true;
      }
    }
    const res = this.res;
    if (res.headersSent || res.destroyed) return true;
    const headers = responseHeaders(rawHeaders);
    if (statusText) res.writeHead(statusCode, statusText, headers);
    else res.writeHead(statusCode, headers);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.discarding) return true;
    if (this.res.write(chunk)) return true;
    this.res.once('drain', onResponseDrain);
    return false;
  }

  onComplete(): void {
    this.settle();
    if (!this.discarding) this.res.end();
  }

  onError(error: Error): void {
    this.settle();
    if (this.clientGone || this.discarding) return;
    const code = (error as NodeJS.ErrnoException).code ?? '';

    if (!this.sent && CONNECT_FAILURES.has(code)) {
      this.undeliverable(error);
      return;
    }

    const beforeHeaders = !this.res.headersSent;
    // A timeout says the replica is slow, not gone; the active probe judges that.
    const broken = code !== 'UND_ERR_HEADERS_TIMEOUT' && code !== 'UND_ERR_BODY_TIMEOUT';
    if (broken && beforeHeaders) {
      const ejected = this.failed('reset', code || error.message);
      if (this.upstream.idempotent && this.attempt === 0 && ejected && this.retryElsewhere()) return;
    }

    this.proxy.logger.warn('replica failed', {
      pool: this.target.poolName,
      port: this.port,
      code,
      error: error.message,
    });
    if (!this.res.headersSent) {
      answerJson(this.res, code === 'UND_ERR_HEADERS_TIMEOUT' ? 504 : 502);
    } else {
      // Headers are out: a truncated body must look truncated, not complete.
      this.res.destroy(error);
    }
  }

  clientClosed(): void {
    if (this.settled || this.discarding || this.res.writableFinished) return;
    this.clientGone = true;
    if (this.waiting && this.replica.lanes.withdraw(this)) {
      this.waiting = false;
      this.settle();
      return;
    }
    this.abortUpstream?.(clientClosed());
  }

  /** The proxy is closing before this request got a connection: it was sent nowhere. */
  abandon(): void {
    this.waiting = false;
    this.settle();
    answerJson(this.res, 502);
  }

  drained(): void {
    this.resumeUpstream?.();
  }

  private undeliverable(error: Error): void {
    const code = (error as NodeJS.ErrnoException).code ?? error.message;
    this.failed('refused', code);
    if (this.res.headersSent || this.res.destroyed) return;
    if (this.attempt > 0) {
      answerJson(this.res, 502);
      return;
    }
    if (!this.retryElsewhere()) answerNoReplica(this.res);
  }

  /**
   * Takes the replica out of rotation by the passive-health rule and reports it; returns
   * whether it is now out (so a retry cannot land on it again).
   */
  private failed(kind: ReplicaFailure['kind'], detail: string): boolean {
    const { targets, poolName, onReplicaFailed } = this.target;
    if (!targets.isInRotation(this.port)) return true;
    const ejected = targets.eject(this.port, kind === 'refused');
    this.proxy.logger.warn(ejected ? 'replica failed, taken out of rotation' : 'replica failed', {
      pool: poolName,
      port: this.port,
      kind,
      detail,
    });
    try {
      onReplicaFailed?.(poolName, this.port, { kind, detail, ejected });
    } catch (callbackError) {
      this.proxy.logger.error('onReplicaFailed failed', { error: String(callbackError) });
    }
    return ejected;
  }

  /** Sends the request once more, to another replica in rotation; false when there is none. */
  private retryElsewhere(): boolean {
    if (this.res.headersSent || this.res.destroyed) return false;
    const nextPort = this.target.targets.next();
    if (nextPort === undefined || nextPort === this.port) return false;
    this.detach();
    new Exchange(
      this.proxy,
      this.req,
      this.res,
      this.target,
      nextPort,
      this.attempt + 1,
      this.upstream,
    ).start();
    return true;
  }

  private detach(): void {
    this.res.off('close', onResponseClose);
    this.res.off('drain', onResponseDrain);
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    if (!this.discarding) this.detach();
    this.target.targets.release(this.port);
    if (this.holdsSlot) {
      this.holdsSlot = false;
      this.replica.lanes.leave(this.upstream.lane);
    }
    this.proxy.dropIfLeft(this.port);
  }
}

/**
 * The response's listeners are shared functions that find their exchange on the response,
 * rather than two fresh closures per request on the hottest path.
 */
const kExchange = Symbol('exchange');
type ExchangeResponse = ServerResponse & { [kExchange]?: Exchange };

function onResponseClose(this: ExchangeResponse): void {
  this[kExchange]?.clientClosed();
}

function onResponseDrain(this: ExchangeResponse): void {
  this[kExchange]?.drained();
}

function clientClosed(): Error {
  return new Error('client closed the connection');
}

/** What is sent upstream, computed once per request and reused by the retry. */
export interface UpstreamRequest {
  headers: string[];
  hasBody: boolean;
  /** The declared Content-Length; undefined for a chunked body or none. */
  bodyLength: number | undefined;
  /** Set by the proxy: which of the replica's lanes it waits in. */
  lane: LaneKind;
  /** A bodyless GET/HEAD with retries on: safe to send to a second replica. */
  idempotent: boolean;
}

/**
 * The client's headers in their original spelling and order, minus hop-by-hop ones, plus
 * the X-Forwarded-* trio, in one pass over the raw list (`req.headers` is built lazily and
 * is never touched here). Values set by a proxy in front of this one (the cloud load
 * balancer) are kept for Proto and Host, and extended for For.
 */
export function upstreamRequest(req: IncomingMessage): UpstreamRequest {
  const raw = req.rawHeaders;
  const out: string[] = [];
  let connectionListed: Set<string> | undefined;
  let hasBody = false;
  let bodyLength: number | undefined;
  let host: string | undefined;
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'transfer-encoding') hasBody = true;
      else if (lower === 'connection') connectionListed = listedInConnection(value, connectionListed);
      continue;
    }
    switch (lower) {
      case 'content-length':
        if (value !== '0') hasBody = true;
        bodyLength = Number(value);
        break;
      case 'host':
        host ??= value;
        break;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      case 'x-forwarded-proto':
        forwardedProto ??= value;
        continue;
      case 'x-forwarded-host':
        forwardedHost ??= value;
        continue;
    }
    out.push(name, value);
  }
  const headers = connectionListed ? withoutListed(out, connectionListed) : out;
  const clientAddress = stripMappedPrefix(req.socket.remoteAddress ?? '');
  headers.push(
    'x-forwarded-for',
    forwardedFor === undefined ? clientAddress : `${forwardedFor}, ${clientAddress}`,
  );
  headers.push('x-forwarded-proto', forwardedProto ?? ('encrypted' in req.socket ? 'https' : 'http'));
  const forwardedHostValue = forwardedHost ?? host;
  if (forwardedHostValue !== undefined) headers.push('x-forwarded-host', forwardedHostValue);
  return { headers, hasBody, bodyLength, lane: 'read', idempotent: false };
}

/** The replica's raw response headers as a flat list for `writeHead`, minus hop-by-hop ones. */
function responseHeaders(raw: Buffer[]): string[] {
  const out: string[] = [];
  let connectionListed: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1');
    const value = raw[i + 1].toString('latin1');
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') connectionListed = listedInConnection(value, connectionListed);
      continue;
    }
    out.push(name, value);
  }
  return connectionListed ? withoutListed(out, connectionListed) : out;
}

function withoutListed(flat: string[], listed: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    if (!listed.has(flat[i].toLowerCase())) out.push(flat[i], flat[i + 1]);
  }
  return out;
}

/** Header names a Connection header declares hop-by-hop (besides the standard ones). */
function listedInConnection(value: string, into: Set<string> | undefined): Set<string> | undefined {
  // Nearly every Connection header says just this; no need to split it.
  if (value.length <= 10 && /^(keep-alive|close)$/i.test(value)) return into;
  let names = into;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name === '' || name === 'close' || name === 'keep-alive') continue;
    (names ??= new Set()).add(name);
  }
  return names;
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
