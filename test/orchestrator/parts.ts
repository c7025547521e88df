import { parseConfig, type OrchestratorConfig } from '../../orchestrator/config';
import { createLogger, type Logger } from '../../common/log';

/** Two pools on separate port ranges: `acts` scales, `users` does not. */
export function twoPoolConfig(overrides: Record<string, unknown> = {}): OrchestratorConfig {
  return parseConfig({
    runtime: { kind: 'process' },
    scaling: { windowSeconds: 10, requestsPerReplica: 20 },
    pools: [
      { name: 'acts', command: ['x'], firstPort: 21000, minReplicas: 1, maxReplicas: 3 },
      { name: 'users', command: ['x'], firstPort: 22000, minReplicas: 2, maxReplicas: 2, autoscale: false },
    ],
    ...overrides,
  });
}

/** A logger that keeps every line as an object. */
export function keptLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('test', 'debug', (line) =>
    lines.push(JSON.parse(line) as Record<string, unknown>),
  );
  return { logger, lines };
}
