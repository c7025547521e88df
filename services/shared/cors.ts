import type { RequestHandler } from 'express';

/**
 * The mobile app and other origins call the API directly, so every origin is allowed. A
 * preflight (OPTIONS carrying Access-Control-Request-Method) is answered here; a plain
 * OPTIONS falls through to the routes and gets their 405.
 */
export function cors(allowedMethods = 'GET, POST, DELETE'): RequestHandler {
  return (req, res, next) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (req.method !== 'OPTIONS' || req.headers['access-control-request-method'] === undefined) return next();
    res.setHeader('Access-Control-Allow-Methods', allowedMethods);
    const requested = req.headers['access-control-request-headers'];
    res.setHeader(
      'Access-Control-Allow-Headers',
      typeof requested === 'string' && requested !== '' ? requested : 'Content-Type',
    );
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  };
}
