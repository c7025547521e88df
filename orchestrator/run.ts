/**
 * The one way into a running orchestrator, for both of its entry points (orchestrator/main.ts
 * under systemd, scripts/start.ts for `npm start`): pick the runtime, start, and stop on
 * signals, tearing down when asked. The callers only choose the policy and print.
 */
import path from 'node:path';
import type { OrchestratorConfig } from './config';
import type { Logger } from '../common/log';
import type { ContainerRuntime } from './runtime';
import { createProcessRuntime } from './process-runtime';
import { startOrchestrator, type Orchestrator } from './orchestrator';

const REPO_ROOT = path.resolve(__dirname, '..');

/** Loaded lazily so the process runtime never pulls in the Docker client. */
export function createRuntime(config: OrchestratorConfig, logger: Logger): ContainerRuntime {
  if (config.runtime.kind === 'process') {
    return createProcessRuntime({
      cwd: REPO_ROOT,
      logDir: path.resolve(REPO_ROOT, config.runtime.logDir),
      logger,
    });
  }
  // A static import would load dockerode for every process-runtime run too.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createDockerRuntime } = require('./docker-runtime') as typeof import('./docker-runtime');
  return createDockerRuntime({
    publishHost: config.runtime.publishHost,
    owner: config.runtime.owner,
    logger,
  });
}

export interface RunPolicy {
  logger: Logger;
  /** Remove the replicas on stop; otherwise they keep serving and a later run adopts them. */
  teardown: boolean;
  signals: readonly NodeJS.Signals[];
  /**
   * A signal arriving while stopping: `exit` ends the process at once (an operator's second
   * Ctrl-C, systemd's final word); `ignore` suits npm, which relays one Ctrl-C more than once.
   */
  repeatedSignal: 'exit' | 'ignore';
}

export interface RunHooks {
  /** A signal began the stop. */
  stopping?(signal: NodeJS.Signals): void;
  /** Everything is stopped (and, with teardown, removed). */
  stopped(): void;
  stopFailed(error: Error): void;
}

export interface RunningOrchestrator {
  orchestrator: Orchestrator;
  /** Stops as a signal would; resolves once stopped (hooks are called either way). */
  stop(): Promise<void>;
}

/**
 * Starts the orchestrator and arms the signals. A failed start releases the runtime and
 * rejects with the cause (a ListenError, a runtime error), leaving nothing running.
 */
export async function runOrchestrator(
  config: OrchestratorConfig,
  policy: RunPolicy,
  hooks: RunHooks,
  runtime: ContainerRuntime = createRuntime(config, policy.logger),
): Promise<RunningOrchestrator> {
  const { logger, teardown } = policy;
  let orchestrator: Orchestrator;
  try {
    orchestrator = await startOrchestrator(config, { runtime, runtimeName: config.runtime.kind, logger });
  } catch (err) {
    await runtime.close().catch(() => undefined);
    throw err;
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= orchestrator
      .stop({ teardown })
      .then(() => (teardown ? runtime.removeAll() : undefined))
      .then(
        () => hooks.stopped(),
        (err: Error) => {
          logger.error('stop failed', { reason: err.message });
          hooks.stopFailed(err);
        },
      );
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      if (policy.repeatedSignal === 'ignore') return;
      logger.warn('second signal: exiting now', { signal });
      process.exit(130);
    }
    logger.info('signal received', { signal, teardown });
    hooks.stopping?.(signal);
    void stop();
  };
  for (const signal of policy.signals) process.on(signal, onSignal);
  return { orchestrator, stop };
}
