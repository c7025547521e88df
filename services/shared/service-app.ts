import express, { type Express } from 'express';
import { chain } from './chain';
import { cors } from './cors';
import { errorHandler } from './error-handler';
import { notFound } from './http-error';
import type { Logger } from '../../common/log';
import { createOpsState, crashAndCount, opsRoutes, type OpsState } from './ops';
import { requestLog } from './request-log';
import { mountRoutes, type Route } from './routes';

export interface ServiceAppOptions {
  readonly routes: readonly Route[];
  readonly logger: Logger;
  /** A real check of the database, for `_health`. */
  readonly checkDatabase: () => Promise<void>;
  readonly healthTimeoutMs?: number;
  readonly heapLimitFraction?: number;
  readonly bodyLimitBytes?: number;
  /**
   * Whether the request log runs (one debug line per request): off when the log level is above
   * debug, where every line would be dropped after its timing and listener were paid for.
   */
  readonly logsRequests?: boolean;
}

/**
 * The shape both services share, in order: request log, crash flag and counter, CORS (one
 * router layer), then the routes (each guarding its methods before its body is read), 404,
 * the one error handler.
 */
export function createServiceApp(options: ServiceAppOptions): { app: Express; ops: OpsState } {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Names are case-sensitive, and so are paths: /API/V1/USERS is not a route.
  app.set('case sensitive routing', true);
  const ops = createOpsState();

  app.use(
    chain([
      ...(options.logsRequests === false ? [] : [requestLog(options.logger)]),
      crashAndCount(ops),
      cors(),
    ]),
  );
  // The service's own routes first: the router tries each path in turn, and these carry the traffic.
  mountRoutes(
    app,
    [
      ...options.routes,
      ...opsRoutes(ops, {
        checkDatabase: options.checkDatabase,
        healthTimeoutMs: options.healthTimeoutMs,
        heapLimitFraction: options.heapLimitFraction,
        logger: options.logger,
      }),
    ],
    options.bodyLimitBytes,
  );
  app.use((_req, _res, next) => next(notFound()));
  app.use(errorHandler(options.logger));
  return { app, ops };
}
