/**
 * Which requests are API requests, which of them count toward auto-scaling, and which pool
 * owns a path. Pure functions of the path so the rules read as a table in the tests.
 */
export const API_PREFIX = '/api/v1/';

/** Probes and the crash switch are operational traffic, not load: they never drive scaling. */
const UNCOUNTED_API_PATHS: ReadonlySet<string> = new Set(['/api/v1/_health', '/api/v1/_crash']);

/** The path without its query string (the request target as the client sent it). */
export function pathOf(target: string): string {
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}

export function isApiPath(path: string): boolean {
  return path.startsWith(API_PREFIX);
}

export function isCountedPath(path: string): boolean {
  return isApiPath(path) && !UNCOUNTED_API_PATHS.has(path);
}

export interface PrefixOwner {
  name: string;
  pathPrefixes: readonly string[];
}

/**
 * The pool whose prefix is the longest string prefix of the path, as the cloud load
 * balancer's `/api/v1/users*` rule matches; ties go to the pool listed first.
 */
export function poolForPath<P extends PrefixOwner>(pools: readonly P[], path: string): P | undefined {
  let best: P | undefined;
  let bestLength = -1;
  for (const pool of pools) {
    for (const prefix of pool.pathPrefixes) {
      if (prefix.length > bestLength && path.startsWith(prefix)) {
        best = pool;
        bestLength = prefix.length;
      }
    }
  }
  return best;
}
