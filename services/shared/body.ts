import type { RequestHandler } from 'express';
import { HttpError, badRequest, payloadTooLarge } from './http-error';
import { parseJsonKeepingLargeText } from './large-text';

/** Real photos arrive as base64 inside JSON: 20 MB must fit, with room for the other fields. */
export const DEFAULT_BODY_LIMIT_BYTES = 24 * 1024 * 1024;

/**
 * Reads and parses the body as JSON whenever it is non-empty, whatever the Content-Type
 * (clients send `application/json;charset=utf-8`, some send none). An empty body leaves
 * `req.body` undefined. Never holds more than `limitBytes`: a declared length above it is
 * refused before reading, a stream that grows past it is refused at that moment and the rest
 * is discarded unread. With `keepsLargeText`, a long string in that top-level field stays the
 * body's bytes (a `LargeText`), so a photo is never held as body, string and decoded copy at once.
 */
export function jsonBody(limitBytes = DEFAULT_BODY_LIMIT_BYTES, keepsLargeText?: string): RequestHandler {
  return async (req, _res, next) => {
    try {
      const raw = await readLimited(req, limitBytes);
      req.body = raw.length === 0 ? undefined : parseJson(raw, keepsLargeText);
      next();
    } catch (err) {
      next(err);
    }
  };
}

function parseJson(raw: Buffer, keepsLargeText: string | undefined): unknown {
  try {
    if (keepsLargeText !== undefined) return parseJsonKeepingLargeText(raw, keepsLargeText);
    let text = raw.toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return JSON.parse(text);
  } catch {
    throw badRequest('body is not valid JSON');
  }
}

function readLimited(
  req: NodeJS.ReadableStream & { headers: Record<string, unknown> },
  limitBytes: number,
): Promise<Buffer> {
  const declared = parseContentLength(req.headers['content-length']);
  if (declared !== undefined && declared > limitBytes) {
    req.resume();
    return Promise.reject(tooLarge(limitBytes));
  }
  return new Promise<Buffer>((resolve, reject) => {
    // One allocation when the length is declared; chunks otherwise.
    const preallocated = declared !== undefined ? Buffer.allocUnsafe(declared) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;

    const cleanup = () => {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onError);
      req.removeListener('aborted', onAborted);
    };
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      cleanup();
      // Keep draining so the client can finish sending and read the answer; nothing is kept.
      req.on('error', () => {});
      req.resume();
      reject(err);
    };
    const onData = (chunk: Buffer | string) => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (received + buf.length > limitBytes) return fail(tooLarge(limitBytes));
      if (preallocated) {
        if (received + buf.length > preallocated.length)
          return fail(badRequest('body longer than Content-Length'));
        buf.copy(preallocated, received);
      } else {
        chunks.push(buf);
      }
      received += buf.length;
    };
    const onEnd = () => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(preallocated ? preallocated.subarray(0, received) : Buffer.concat(chunks, received));
    };
    const onError = (err: Error) => fail(err);
    const onAborted = () => fail(badRequest('client aborted the request'));

    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

function parseContentLength(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

function tooLarge(limitBytes: number): HttpError {
  return payloadTooLarge(`body exceeds the ${limitBytes}-byte limit`);
}
