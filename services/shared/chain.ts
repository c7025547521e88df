import type { RequestHandler } from 'express';

/**
 * Several middleware run as one router layer, in order: the router matches and dispatches
 * every layer of every request, so the few that run on all of them cost less as one. Each
 * handler either calls `next()` (the following one runs), `next(err)` (the error goes to the
 * router, the rest is skipped), or answers (the rest is skipped); a throw reaches the router
 * as it would from its own layer.
 */
export function chain(handlers: readonly RequestHandler[]): RequestHandler {
  if (handlers.length === 1) return handlers[0]!;
  return (req, res, next) => {
    let index = 0;
    const step = (err?: unknown): void => {
      if (err) return next(err);
      const handler = handlers[index++];
      if (handler === undefined) return next();
      void handler(req, res, step);
    };
    step();
  };
}
