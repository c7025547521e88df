/**
 * `npm start`: the whole system on one machine. The orchestrator is the front door (routing
 * like the cloud load balancer), with a users pool and an acts pool of local processes (or
 * containers) sharing SQLite files under the data directory. Ctrl-C removes everything it
 * started, and so does the death of the `npm start` that launched it (start/launcher.ts).
 * CLI (start/cli.ts) → preset (start/preset.ts) → preflight (start/preflight.ts) → run.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '../common/log';
import { runOrchestrator } from '../orchestrator/run';
import { buildWeb } from './build-web';
import { parseStartArgs, USAGE, type StartOptions } from './start/cli';
import { prepareImages, shareDataDirWithContainers, takenPorts } from './start/preflight';
import { watchLauncher } from './start/launcher';
import { buildStartConfig } from './start/preset';
import { reportProgress } from './start/progress';

const say = (line: string) => process.stdout.write(`${line}\n`);
const fail = (message: string, code: number): never => {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(code);
};

const LAUNCHER_GONE = 'the npm start that launched this is gone';

async function run(options: StartOptions): Promise<void> {
  // Until the orchestrator runs there is nothing to stop (process replicas follow their lifeline).
  let onLauncherGone: () => void = () => fail(`${LAUNCHER_GONE}; not starting`, 1);
  watchLauncher(() => onLauncherGone());
  const dataDir = path.resolve(options.dataDir);
  const logDir = path.join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, 'orchestrator.log');
  const logger = createLogger('orchestrator', 'info', (line) => appendFileSync(logFile, line + '\n'));

  // Ports first: refuse before building or starting anything.
  const taken = await takenPorts(buildStartConfig(options, undefined));
  if (taken.length > 0) {
    fail(
      `these ports are already in use: ${taken.join(', ')}.\n` +
        'Stop whatever listens there (perhaps another `npm start`), or choose other ports (see --help).',
      1,
    );
  }
  if (options.runtime === 'docker') {
    await prepareImages(say);
    shareDataDirWithContainers(dataDir, say);
  }
  say('building the web UI…');
  const config = buildStartConfig(options, await buildWeb());
  say(`starting ${options.runtime === 'docker' ? 'containers' : 'processes'} (logs in ${logDir})…`);

  let stopProgress = () => {};
  const { orchestrator, stop } = await runOrchestrator(
    config,
    // npm relays the terminal's Ctrl-C too, so one keypress can arrive more than once.
    { logger, teardown: true, signals: ['SIGINT', 'SIGTERM', 'SIGHUP'], repeatedSignal: 'ignore' },
    {
      stopping: (signal) => {
        stopProgress();
        say(`\n${signal}: stopping every replica…`);
      },
      stopped: () => {
        say('stopped.');
        process.exit(0);
      },
      stopFailed: (err) => fail(`stopping failed: ${err.message}`, 1),
    },
  ).catch((err: Error) => fail(err.message, 1));
  onLauncherGone = () => {
    stopProgress();
    logger.info('launcher gone: stopping', { teardown: true });
    say(`\n${LAUNCHER_GONE}: stopping every replica…`);
    void stop();
  };

  stopProgress = reportProgress(orchestrator, say, () => {
    const admin = `http://127.0.0.1:${orchestrator.adminPort}`;
    say('');
    say(`Ready: open http://localhost:${orchestrator.frontDoorPort}`);
    say(`Dashboard: ${admin}/ (the orchestrator at work, live)`);
    say(`Status: ${admin}/status   Metrics: ${admin}/metrics`);
    say('Press Ctrl-C to stop.');
  });
}

function main(): Promise<void> {
  // When the terminal or pipe that started us is gone, a progress line must not crash the
  // process before it has stopped the replicas it started.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  let options: StartOptions | undefined;
  try {
    options = parseStartArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`npm start: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (!options) {
    say(USAGE);
    return Promise.resolve();
  }
  return run(options);
}

// Anything not already reported (no Docker engine, an image build that failed, a data
// directory the containers cannot use) ends in one clear line, not a stack trace.
main().catch((err: Error) => fail(err.message, 1));
