import type { RequestHandler } from 'express';
import { getHeapStatistics } from 'node:v8';
import { isDatabaseUnavailable } from './database';
import { promiseWithin } from './deadline';
import { DatabaseTimeout } from './sql-errors';
import type { Logger } from '../../common/log';
import type { Route } from './routes';

export const COUNT_PATH = '/api/v1/_count';
export const HEALTH_PATH = '/api/v1/_health';
export const CRASH_PATH = '/api/v1/_crash';
const UNCOUNTED = new Set([COUNT_PATH, HEALTH_PATH, CRASH_PATH]);

/** Per-process operational state: what makes round-robin and crash recovery observable. */
export interface OpsState {
  requestCount: number;
  crashed: boolean;
}

export interface OpsOptions {
  /** A real read (and, where the service writes, a write) of its database; rejects when it cannot. */
  readonly checkDatabase: () => Promise<void>;
  /** How long the database check may take; see HEALTH_DATABASE_TIMEOUT_MS. */
  readonly healthTimeoutMs?: number;
  /** The share of the heap limit in use above which `_health` answers 500. */
  readonly heapLimitFraction?: number;
  readonly logger: Logger;
}

/**
 * A process this close to its heap limit can no longer be trusted to allocate what a
 * request needs (a photo is tens of MB); better replaced than left to fail requests.
 */
export const HEAP_LIMIT_FRACTION = 0.9;

export function isHeapNearLimit(
  heap: { used_heap_size: number; heap_size_limit: number },
  fraction: number,
): boolean {
  return heap.used_heap_size >= heap.heap_size_limit * fraction;
}

/**
 * The database check's deadline in `_health`: well below the orchestrator's probe timeout
 * (800 ms), so a hung database is reported as such (503: out of rotation, not replaced) before
 * the probe itself gives up and counts a failure towards replacing a replica that is fine.
 */
export const HEALTH_DATABASE_TIMEOUT_MS = 500;

export function createOpsState(): OpsState {
  return { requestCount: 0, crashed: false };
}

/** Whether a request to this path counts towards `_count`: every API path except the ops ones. */
export function isCounted(path: string): boolean {
  const normalized = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return normalized.startsWith('/api/v1/') && !UNCOUNTED.has(normalized);
}

/**
 * Runs before everything else: once crashed, every request (ops routes included) is 500,
 * and every other API request is counted whatever its method or outcome.
 */
export function crashAndCount(state: OpsState): RequestHandler {
  return (req, res, next) => {
    if (state.crashed) {
      res.status(500).json({});
      return;
    }
    if (isCounted(req.path)) state.requestCount += 1;
    next();
  };
}

export function opsRoutes(state: OpsState, options: OpsOptions): Route[] {
  const timeoutMs = options.healthTimeoutMs ?? HEALTH_DATABASE_TIMEOUT_MS;
  return [
    {
      path: COUNT_PATH,
      methods: {
        GET: (_req, res) => {
          res.status(200).json([state.requestCount]);
        },
        DELETE: (_req, res) => {
          state.requestCount = 0;
          res.status(200).json({});
        },
      },
    },
    {
      path: HEALTH_PATH,
      methods: {
        GET: async (_req, res) => {
          try {
            const heap = getHeapStatistics();
            if (isHeapNearLimit(heap, options.heapLimitFraction ?? HEAP_LIMIT_FRACTION))
              throw new Error(
                `heap near its limit: ${heap.used_heap_size} of ${heap.heap_size_limit} bytes used`,
              );
            await promiseWithin(
              options.checkDatabase(),
              timeoutMs,
              () => new DatabaseTimeout(`database check took longer than ${timeoutMs} ms`),
            );
            res.status(200).end();
          } catch (err) {
            // 503: this process is fine but its database cannot be reached or does not answer in
            // time (down, hung, locked), which a new replica would not change (the orchestrator
            // keeps it out of rotation and keeps probing).
            // 500: something about this process, or a database that refuses what it is asked.
            const unreachable = isDatabaseUnavailable(err);
            options.logger.warn('health check failed', {
              error: err instanceof Error ? err.message : String(err),
              databaseUnreachable: unreachable,
            });
            res.status(unreachable ? 503 : 500).json({});
          }
        },
      },
    },
    {
      path: CRASH_PATH,
      ignoresBody: true,
      methods: {
        POST: (_req, res) => {
          state.crashed = true;
          options.logger.warn('crash requested: every further request answers 500');
          res.status(200).end();
        },
      },
    },
  ];
}
