import type { Express, Request, RequestHandler, Response } from 'express';
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
}

/**
 * Mounts routes so that a method a path does not support is answered 405 before the body
 * is read or anything is looked up, and so that literal paths registered first (e.g.
 * `/api/v1/acts/upvote`) shadow parameter paths registered after them (`/api/v1/acts/:actId`)
 * for every method, not only the supported ones.
 */
export function mountRoutes(app: Express, routes: readonly Route[], bodyLimitBytes?: number): void {
  const parseBody = jsonBody(bodyLimitBytes);
  for (const route of routes) {
    app.all(route.path, allowOnly(Object.keys(route.methods) as Method[]));
    for (const [method, handler] of Object.entries(route.methods) as [Method, Handler][]) {
      const chain: RequestHandler[] = [];
      if (method === 'POST' && !route.ignoresBody) chain.push(parseBody);
      chain.push(async (req, res) => {
        await handler(req, res);
      });
      app[lowercase(method)](route.path, ...chain);
    }
  }
}

function allowOnly(methods: readonly Method[]): RequestHandler {
  // HEAD is part of GET in HTTP; express answers it with the GET handler minus the body.
  const allowed = new Set<string>(methods.includes('GET') ? [...methods, 'HEAD'] : methods);
  const allowHeader = [...allowed].join(', ');
  return (req, res, next) => {
    if (allowed.has(req.method)) return next();
    res.setHeader('Allow', allowHeader);
    next(methodNotAllowed(`${req.method} not supported on this route`));
  };
}

function lowercase(method: Method): 'get' | 'post' | 'delete' {
  return method.toLowerCase() as 'get' | 'post' | 'delete';
}
