/** The services log with the system's one JSON logger (common/log.ts). */
export {
  createLogger,
  isLogLevel,
  silentLogger,
  type LogFields,
  type LogLevel,
  type Logger,
} from '../../common/log';
