/**
 * Sheds a sign-in or registration while the hashing gate is full, straight from node's request
 * handler: before its body is read, before express routes it. Under a login flood nearly every
 * request is one of these and is refused anyway; refused here it costs node's parsing and one
 * write, not express's routing, body reading, JSON parsing and response helpers, so the
 * replica's other requests (and its health probes) keep their share of the event loop. Node
 * discards the unread body itself, keeping the connection alive.
 *
 * The answer is byte for byte the one the routes give when the gate fills later, while the
 * body was being read (test/services/users/early-shed.test.ts pins both).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { isCounted, type OpsState } from '../shared/ops';
import { OVERLOADED_RETRY_AFTER_SECONDS } from './hashing-gate';

/** `POST /api/v1/users` (registration) and `POST /api/v1/users/{username}/session` (sign-in), matched as express matches them: case-sensitive, an optional trailing slash, any query. */
const REGISTRATION_PATH = /^\/api\/v1\/users\/?$/;
const SIGN_IN_PATH = /^\/api\/v1\/users\/[^/]+\/session\/?$/;

/** Whether a request would hash a password, from its request line alone. */
export function hashesPassword(method: string | undefined, url: string | undefined): boolean {
  if (method !== 'POST' || url === undefined) return false;
  const path = pathOf(url);
  return REGISTRATION_PATH.test(path) || SIGN_IN_PATH.test(path);
}

const OVERLOADED_BODY = '{}';
/**
 * In the order and spelling express wrote them: CORS's header (set on every answer, see
 * shared/cors.ts), then Retry-After, then what `res.json` adds.
 */
const OVERLOADED_HEADERS: readonly string[] = [
  'Access-Control-Allow-Origin',
  '*',
  'retry-after',
  String(OVERLOADED_RETRY_AFTER_SECONDS),
  'Content-Type',
  'application/json; charset=utf-8',
  'Content-Length',
  String(Buffer.byteLength(OVERLOADED_BODY)),
];

/** 503 `{}` with Retry-After: come back once the hashing queue has drained. */
export function answerOverloaded(res: ServerResponse): void {
  // A string body goes out in the same write as the head.
  res.writeHead(503, OVERLOADED_HEADERS as string[]).end(OVERLOADED_BODY);
}

/**
 * `app` behind the early shed. A crashed replica is left to `app` (it answers 500 to
 * everything); a shed request is counted as every API request is.
 */
export function shedWhenHashingFull(
  app: RequestListener,
  hashing: { readonly full: boolean },
  ops: OpsState,
): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (hashing.full && !ops.crashed && hashesPassword(req.method, req.url)) {
      if (isCounted(pathOf(req.url!))) ops.requestCount += 1;
      answerOverloaded(res);
      return;
    }
    app(req, res);
  };
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
