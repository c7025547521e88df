/**
 * `npm run orchestrator -- --config FILE [--down]`: the orchestrator as systemd runs it.
 * The only place that reads the process environment. Child processes cannot be adopted by a
 * later run, so the process runtime always tears its replicas down.
 */
import { applyEnvOverrides, loadConfigFile, type OrchestratorConfig } from './config';
import { createLogger, isLogLevel } from '../common/log';
import { parseMainArgs, type MainArgs } from './main-args';
import { runOrchestrator } from './run';

async function main(): Promise<void> {
  const level = process.env.LOG_LEVEL;
  const logger = createLogger('orchestrator', level && isLogLevel(level) ? level : 'info');
  let args: MainArgs;
  let config: OrchestratorConfig;
  try {
    args = parseMainArgs(process.argv.slice(2));
    config = applyEnvOverrides(loadConfigFile(args.configFile), process.env);
  } catch (err) {
    process.stderr.write(`orchestrator: ${(err as Error).message}\n`);
    process.exit(2);
  }
  try {
    await runOrchestrator(
      config,
      {
        logger,
        teardown: args.down || config.teardownOnExit || config.runtime.kind === 'process',
        signals: ['SIGTERM', 'SIGINT'],
        repeatedSignal: 'exit',
      },
      { stopped: () => process.exit(0), stopFailed: () => process.exit(1) },
    );
  } catch (err) {
    process.stderr.write(`orchestrator: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

if (require.main === module) {
  void main();
}
