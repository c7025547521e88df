import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import { jsonBody } from './body';
import { methodNotAllowed } from './http-error';

export type Method = 'GET' | 'POST' | 'DELETE';
export type Handler = (req: Request, res: Response) => void | Promise<void>;

/** One API path and what each supported method does there. */
export interface Route {
  /** express path pattern, e.g. `/api/v1/users/:username` */
  readonly path: string;
  readonly methods: Partial<Record<Method, Handler>>;
  /** POST bodies are parsed as JSON unless the route ignores its body. */
  readonly ignoresBody?: boolean;
  /** A top-level body field whose long string value stays bytes (a `LargeText`), e.g. a photo. */
  readonly keepsLargeText?: string;
}

/**
 * Mounts routes so that a method a path does not support is answered 405 before the body
 * is read or anything is looked up, and so that literal paths registered first (e.g.
 * `/api/v1/acts/upvote`) shadow parameter paths registered after them (`/api/v1/acts/:actId`)
 * for every method, not only the supported ones.
 *
 * Each path is one router layer that picks the method's handler itself: the router matches
 * every layer before the one that answers, so one layer per path (rather than a guard plus
 * one per method) halves that work on every request.
 */
export function mountRoutes(app: Express, routes: readonly Route[], bodyLimitBytes?: number): void {
  const parseBody = jsonBody(bodyLimitBytes);
  for (const route of routes)
    app.all(
      route.path,
      dispatch(route, route.keepsLargeText ? jsonBody(bodyLimitBytes, route.keepsLargeText) : parseBody),
    );
}

function dispatch(route: Route, parseBody: RequestHandler): RequestHandler {
  const handlers = new Map<string, Handler>(Object.entries(route.methods) as [Method, Handler][]);
  // HEAD is part of GET in HTTP: the GET handler answers it, and node leaves the body out.
  const get = handlers.get('GET');
  if (get) handlers.set('HEAD', get);
  const allowHeader = [...handlers.keys()].join(', ');
  const readsBody = !route.ignoresBody && handlers.has('POST');

  const run = (handler: Handler, req: Request, res: Response, next: NextFunction) => {
    try {
      const pending = handler(req, res);
      if (pending) pending.catch(next);
    } catch (err) {
      next(err);
    }
  };
  return (req, res, next) => {
    const handler = handlers.get(req.method);
    if (handler === undefined) {
      res.setHeader('Allow', allowHeader);
      next(methodNotAllowed(`${req.method} not supported on this route`));
      return;
    }
    if (readsBody && req.method === 'POST') {
      void parseBody(req, res, (err?: unknown) => (err ? next(err) : run(handler, req, res, next)));
      return;
    }
    run(handler, req, res, next);
  };
}
