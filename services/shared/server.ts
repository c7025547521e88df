import http, { type RequestListener, type Server } from 'node:http';
import type { Express } from 'express';
import type { Logger } from '../../common/log';
import { expressServerOptions } from './express-server';

export interface RunningService {
  readonly server: Server;
  /** Stops accepting, lets in-flight requests finish, then runs `onClosed` (closing the pool). */
  shutdown(): Promise<void>;
}

/**
 * Serves `app` (or `handle`, a listener in front of it), its requests and responses made with
 * the app's prototypes (see expressServerOptions). Listens and wires SIGTERM/SIGINT to a
 * graceful shutdown that exits 0. Idle keep-alive connections are closed at once; busy ones
 * after their response. `forceAfterMs` bounds a client that never finishes.
 */
export function serve(
  app: Express,
  options: {
    port: number;
    logger: Logger;
    onClosed: () => Promise<void>;
    forceAfterMs?: number;
    handle?: RequestListener;
  },
): Promise<RunningService> {
  const { logger } = options;
  return new Promise((resolve, reject) => {
    const server = http.createServer(expressServerOptions(app), options.handle ?? app);
    server.listen(options.port);
    server.once('error', reject);
    server.once('listening', () => {
      server.removeListener('error', reject);
      let closing: Promise<void> | undefined;
      const shutdown = () => {
        closing ??= new Promise<void>((done) => {
          const force = setTimeout(() => server.closeAllConnections(), options.forceAfterMs ?? 10_000);
          force.unref();
          server.close(() => {
            clearTimeout(force);
            options
              .onClosed()
              .catch((err: unknown) => logger.error('error while closing', { error: String(err) }))
              .finally(done);
          });
          server.closeIdleConnections();
        });
        return closing;
      };
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        process.once(signal, () => {
          logger.info('shutting down', { signal });
          void shutdown().then(() => process.exit(0));
        });
      }
      logger.info('listening', { port: options.port });
      resolve({ server, shutdown });
    });
  });
}
