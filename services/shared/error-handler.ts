import type { ErrorRequestHandler } from 'express';
import { isDatabaseUnavailable } from './database';
import { HttpError } from './http-error';
import type { Logger } from '../../common/log';

/**
 * The one place an error becomes a response. Known errors answer with their status and
 * body; client errors raised by express itself (a path that does not URL-decode) keep their
 * 4xx status; anything else is logged and answered 500 `{}` so internals never leak.
 */
const DATABASE_RETRY_AFTER_SECONDS = 2;

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      logger.error('error after response started', {
        method: req.method,
        path: req.path,
        error: describe(err),
      });
      next(err);
      return;
    }
    if (err instanceof HttpError) {
      logger.debug('request rejected', {
        method: req.method,
        path: req.path,
        status: err.status,
        reason: err.reason,
      });
      res.status(err.status).json(err.body);
      return;
    }
    const status = clientErrorStatus(err);
    if (status !== undefined) {
      logger.debug('request rejected', { method: req.method, path: req.path, status, reason: describe(err) });
      res.status(status).json({});
      return;
    }
    if (isDatabaseUnavailable(err)) {
      // Fail fast and say so: the client may retry, and the front door does not eject for a 503.
      logger.warn('database unavailable', { method: req.method, path: req.path, error: describe(err) });
      res.set('retry-after', String(DATABASE_RETRY_AFTER_SECONDS)).status(503).json({});
      return;
    }
    logger.error('unhandled error', { method: req.method, path: req.path, error: describe(err) });
    res.status(500).json({});
  };
}

function clientErrorStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { status, expose } = err as { status?: unknown; expose?: unknown };
  // The router marks a path segment that fails to URL-decode with status 400 but no `expose`.
  const isClientError = expose === true || err instanceof URIError;
  return typeof status === 'number' && status >= 400 && status < 500 && isClientError ? status : undefined;
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}
