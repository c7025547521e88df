/**
 * The one JSON logger: a line per event, the same shape from the orchestrator and from every
 * service (`time`, `level`, `component`, `msg`, then the event's fields), so one query reads
 * them all. Errors are always written: a quiet log level must never hide a failure.
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(LEVELS, value);
}

/** `component` names the writer: `orchestrator`, `users`, `acts`. */
export function createLogger(
  component: string,
  minLevel: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
): Logger {
  const emit =
    (level: LogLevel) =>
    (msg: string, fields: LogFields = {}) => {
      if (level !== 'error' && LEVELS[level] < LEVELS[minLevel]) return;
      write(JSON.stringify({ time: new Date().toISOString(), level, component, msg, ...fields }));
    };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** For tests and libraries that must stay quiet. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
