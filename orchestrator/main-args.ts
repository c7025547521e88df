/** The command line of orchestrator/main.ts: `--config FILE [--down]`. */
import { UsageError } from './errors';

export interface MainArgs {
  configFile: string;
  /** Remove every replica on stop, whatever the configuration says. */
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
    else throw new UsageError(`unknown argument ${JSON.stringify(arg)} (usage: --config FILE [--down])`);
  }
  if (!configFile) throw new UsageError('--config FILE is required');
  return { configFile, down };
}
