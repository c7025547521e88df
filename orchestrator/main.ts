/**
 * `npm run orchestrator -- --config FILE [--down]`: the orchestrator as systemd runs it.
 * The only place that reads the environment and picks the runtime.
 */
import path from 'node:path';
import { ConfigError, loadConfigFile, type OrchestratorConfig } from './config';
import { createLogger, type Logger } from './log';
import type { ContainerRuntime } from './runtime';
import { createProcessRuntime } from './process-runtime';
import { startOrchestrator, type Orchestrator } from './orchestrator';

export const REPO_ROOT = path.resolve(__dirname, '..');

export interface MainArgs {
  configFile: string;
  down: boolean;
}

export function parseMainArgs(argv: string[]): MainArgs {
  let configFile: string | undefined;
  let down = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--down') down = true;
    else if (arg === '--config') configFile = argv[++i];
    else if (arg.startsWith('--config=')) configFile = arg.slice('--config='.length);
    else throw new Error(`unknown argument ${JSON.stringify(arg)} (usage: --config FILE [--down])`);
  }
  if (!configFile) throw new Error('--config FILE is required');
  return { configFile, down };
}

function envPort(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new ConfigError(name, `must be a port number, got ${JSON.stringify(raw)}`);
  return n;
}

/** The few per-host values an operator sets in the environment instead of the file. */
export function applyEnvOverrides(config: OrchestratorConfig, env: NodeJS.ProcessEnv): OrchestratorConfig {
  const listenPort = envPort(env, 'ORCH_LISTEN_PORT');
  const adminPort = envPort(env, 'ORCH_ADMIN_PORT');
  const windowRaw = env.ORCH_WINDOW_SECONDS;
  let windowSeconds = config.scaling.windowSeconds;
  if (windowRaw !== undefined && windowRaw !== '') {
    windowSeconds = Number(windowRaw);
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) {
      throw new ConfigError(
        'ORCH_WINDOW_SECONDS',
        `must be a whole number of seconds ≥ 1, got ${JSON.stringify(windowRaw)}`,
      );
    }
  }
  let runtime = config.runtime;
  if (env.ORCH_PUBLISH_HOST) {
    if (runtime.kind !== 'docker')
      throw new ConfigError('ORCH_PUBLISH_HOST', 'applies only to runtime.kind "docker"');
    runtime = { ...runtime, publishHost: env.ORCH_PUBLISH_HOST };
  }
  return {
    ...config,
    listen: { ...config.listen, ...(listenPort !== undefined ? { port: listenPort } : {}) },
    admin: { ...config.admin, ...(adminPort !== undefined ? { port: adminPort } : {}) },
    scaling: { ...config.scaling, windowSeconds },
    runtime,
  };
}

/** Loaded lazily so the process runtime never pulls in the Docker client. */
export function createRuntime(
  config: OrchestratorConfig,
  logger: Logger,
): ContainerRuntime & { removeAll?: () => Promise<void> } {
  if (config.runtime.kind === 'process') {
    return createProcessRuntime({
      cwd: REPO_ROOT,
      logDir: path.resolve(REPO_ROOT, config.runtime.logDir),
      logger,
    });
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const docker = require('./docker-runtime') as {
    createDockerRuntime(options: { publishHost: string; owner: string; logger: Logger }): ContainerRuntime;
  };
  return docker.createDockerRuntime({
    publishHost: config.runtime.publishHost,
    owner: config.runtime.owner,
    logger,
  });
}

/**
 * Stops on the first SIGTERM/SIGINT (a second one exits at once). Child processes cannot be
 * adopted by a later run, so the process runtime always tears its replicas down.
 */
export function stopOnSignals(
  orchestrator: Orchestrator,
  teardown: boolean,
  logger: Logger,
  onStopped: () => void,
): void {
  let signalled = false;
  const handler = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn('second signal: exiting now', { signal });
      process.exit(130);
    }
    signalled = true;
    logger.info('signal received', { signal, teardown });
    orchestrator.stop({ teardown }).then(onStopped, (err: Error) => {
      logger.error('stop failed', { reason: err.message });
      process.exit(1);
    });
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

async function main(): Promise<void> {
  const logger = createLogger(
    'orchestrator',
    (process.env.LOG_LEVEL as 'debug' | 'info' | 'warn' | 'error' | undefined) ?? 'info',
  );
  let args: MainArgs;
  let config: OrchestratorConfig;
  try {
    args = parseMainArgs(process.argv.slice(2));
    config = applyEnvOverrides(loadConfigFile(args.configFile), process.env);
  } catch (err) {
    process.stderr.write(`orchestrator: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const teardown = args.down || config.teardownOnExit || config.runtime.kind === 'process';
  const runtime = createRuntime(config, logger);
  let orchestrator: Orchestrator;
  try {
    orchestrator = await startOrchestrator(config, { runtime, runtimeName: config.runtime.kind, logger });
  } catch (err) {
    process.stderr.write(`orchestrator: ${(err as Error).message}\n`);
    await runtime.close().catch(() => undefined);
    process.exit(1);
  }
  stopOnSignals(orchestrator, teardown, logger, () => process.exit(0));
}

if (require.main === module) {
  void main();
}
