import type { Response } from 'express';

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * Answers `status` with JSON text: the same status line, headers and bytes as express's
 * `res.status(status).json(...)` (and its HEAD answer), written straight to node's response.
 * express's own path looks the type up in its MIME table, parses it back to add the charset
 * and checks freshness on every call, which cost the hottest reads several percent of their CPU.
 */
export function sendJsonText(res: Response, status: number, json: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', JSON_CONTENT_TYPE);
  res.setHeader('Content-Length', Buffer.byteLength(json, 'utf8'));
  if (res.req.method === 'HEAD') res.end();
  else res.end(json, 'utf8');
}

/** `sendJsonText` of `JSON.stringify(value)`, as `res.json` serialises with express's default settings. */
export function sendJson(res: Response, status: number, value: object | number | string | boolean): void {
  sendJsonText(res, status, JSON.stringify(value));
}
