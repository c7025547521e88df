/**
 * Every error the orchestrator and `npm start` raise on purpose, each with a stable `code`
 * (as undici's UND_ERR_* codes): callers and tests branch on the code, never on the message,
 * so messages stay free to improve.
 */

export const ERROR_CODES = {
  /** The configuration (file, environment override) is invalid; `field` names where. */
  config: 'ORCH_ERR_CONFIG',
  /** A command-line argument is invalid. */
  usage: 'ORCH_ERR_USAGE',
  /** The front door or admin server cannot listen; nothing was started. */
  listen: 'ORCH_ERR_LISTEN',
  /** A pool's spec lacks what its runtime needs (an image for Docker, a command for processes). */
  replicaSpec: 'ORCH_ERR_REPLICA_SPEC',
  /** The container engine did not answer within its deadline. */
  engineTimeout: 'ORCH_ERR_ENGINE_TIMEOUT',
  /** A replica could not be started. */
  replicaStart: 'ORCH_ERR_REPLICA_START',
  /** A replica could not be removed (it is still there after the deadline). */
  replicaRemove: 'ORCH_ERR_REPLICA_REMOVE',
  /** The container engine answers, but not as this orchestrator needs (e.g. a missing network). */
  engine: 'ORCH_ERR_ENGINE',
  /** A data directory the containers must share cannot be made usable for them. */
  dataDir: 'ORCH_ERR_DATA_DIR',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export class OrchestratorError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OrchestratorError';
  }
}

export class ConfigError extends OrchestratorError {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(ERROR_CODES.config, `invalid configuration: ${field} ${problem}`);
    this.name = 'ConfigError';
  }
}

export class UsageError extends OrchestratorError {
  constructor(message: string) {
    super(ERROR_CODES.usage, message);
    this.name = 'UsageError';
  }
}

/** A listen address is already taken (or otherwise unusable); nothing was started. */
export class ListenError extends OrchestratorError {
  constructor(
    readonly what: string,
    readonly host: string,
    readonly port: number,
    cause: NodeJS.ErrnoException,
  ) {
    super(
      ERROR_CODES.listen,
      cause.code === 'EADDRINUSE'
        ? `${what} port ${port} on ${host} is already in use; stop whatever listens there or choose another port`
        : `${what} cannot listen on ${host}:${port}: ${cause.message}`,
      { cause },
    );
    this.name = 'ListenError';
  }
}

/** The stable code of an error, if it carries one of ours. */
export function errorCode(error: unknown): ErrorCode | undefined {
  return error instanceof OrchestratorError ? error.code : undefined;
}
