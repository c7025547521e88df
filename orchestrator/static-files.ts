/**
 * The web UI's files, served by the front door itself. Only GET and HEAD; no directory
 * listings, no dotfiles, nothing outside the root (after decoding and following symlinks).
 * Content-hashed asset names never change content, so they are cached for a year; anything
 * else (index.html above all) is revalidated on every use so a new deploy shows at once.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.webmanifest': 'application/manifest+json',
};

export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
export const REVALIDATE_CACHE = 'no-cache';

/**
 * `app-J7WBJFXC.js`, `chunk.3f9a1c2e.css`: a separator, then 8+ characters of a content hash
 * (with at least one digit or capital, so ordinary words like `-settings` do not qualify),
 * right before the extension.
 */
const HASHED_NAME = /[-.](?=[A-Za-z0-9_]*[0-9A-Z])[A-Za-z0-9_]{8,}\.[A-Za-z0-9]+$/;

export function contentTypeFor(filePath: string): string {
  return CONTENT_TYPES[path.extname(filePath).toLowerCase()] ?? 'application/octet-stream';
}

export function cacheControlFor(filePath: string): string {
  return HASHED_NAME.test(path.basename(filePath)) ? IMMUTABLE_CACHE : REVALIDATE_CACHE;
}

/**
 * The file a URL path names under root, or null when it could name something outside root,
 * a dotfile, or is not decodable. Pure: no file system access.
 */
export function resolveUnderRoot(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/');
  if (segments.some((s) => s === '..' || (s.startsWith('.') && s !== '.'))) return null;
  const normalized = path.posix.normalize('/' + decoded);
  const relative = normalized === '/' ? 'index.html' : normalized.slice(1);
  const resolved = path.resolve(root, relative);
  return resolved.startsWith(root + path.sep) ? resolved : null;
}

export type StaticHandler = (req: IncomingMessage, res: ServerResponse, urlPath: string) => Promise<void>;

export function createStaticFiles(rootDir: string): StaticHandler {
  const root = path.resolve(rootDir);
  let realRoot: Promise<string> | undefined;

  return async (req, res, urlPath) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      answerText(res, 405, 'Method Not Allowed', { allow: 'GET, HEAD' });
      return;
    }
    const candidate = resolveUnderRoot(root, urlPath);
    if (candidate === null) {
      answerText(res, 404, 'Not Found');
      return;
    }
    realRoot ??= realpath(root).catch(() => root);
    const file = await existingFileUnder(await realRoot, candidate);
    if (file === null) {
      if (urlPath === '/') answerText(res, 200, 'OK');
      else answerText(res, 404, 'Not Found');
      return;
    }

    const etag = `W/"${file.size.toString(16)}-${Math.floor(file.mtimeMs).toString(16)}"`;
    const headers = {
      'content-type': contentTypeFor(file.path),
      'cache-control': cacheControlFor(file.path),
      etag,
      'last-modified': new Date(file.mtimeMs).toUTCString(),
      'x-content-type-options': 'nosniff',
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': file.size });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    pipeline(createReadStream(file.path), res, () => {
      // A client that went away mid-file, or a file removed under us: the socket is already closed.
    });
  };
}

interface FoundFile {
  path: string;
  size: number;
  mtimeMs: number;
}

async function existingFileUnder(realRoot: string, candidate: string): Promise<FoundFile | null> {
  try {
    const real = await realpath(candidate);
    if (!real.startsWith(realRoot + path.sep)) return null;
    const info = await stat(real);
    return info.isFile() ? { path: real, size: info.size, mtimeMs: info.mtimeMs } : null;
  } catch {
    return null;
  }
}

function answerText(
  res: ServerResponse,
  status: number,
  body: string,
  extra: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-cache',
    ...extra,
  });
  res.end(body);
}
