/**
 * The seam between the orchestrator and whatever actually runs replicas.
 * One implementation per file: process-runtime.ts (local child processes) and
 * docker-runtime.ts (the only file that imports dockerode).
 */

/** Everything a runtime needs to start one replica of a pool on one host port. */
export interface ReplicaSpec {
  pool: string;
  /** Host port the replica must be reachable on at 127.0.0.1 (and, for Docker, the publish host). */
  port: number;
  /** Docker runtime: the image, e.g. `acts:latest`. */
  image?: string;
  /** Process runtime: argv of the service entry point, e.g. ['node', '--import', 'tsx', 'services/acts/main.ts']. */
  command?: string[];
  /** Port the service listens on inside a container (the process runtime listens on `port` itself). */
  internalPort: number;
  /** Service environment; the runtime adds PORT. */
  env: Record<string, string>;
  /** Docker runtime: host directories bind-mounted into the container (the process runtime shares the host's files). */
  mounts?: { source: string; target: string }[];
  /** Identifies the spec a replica was started from, so a restarted orchestrator adopts only current replicas. */
  specHash: string;
}

/** What a runtime reports about a replica it owns. */
export interface ReplicaInfo {
  /** Container ID or `pid:<n>`; a replacement always has a new id. */
  id: string;
  pool: string;
  port: number;
  specHash: string;
  running: boolean;
}

export interface ReplicaExit {
  id: string;
  pool: string;
  port: number;
  /** e.g. 'exited with code 1', 'killed by SIGKILL', 'oom', 'destroyed'. */
  reason: string;
}

export interface ContainerRuntime {
  /** Starts a new replica; resolves once it has been created and started (not once it is healthy). */
  start(spec: ReplicaSpec): Promise<ReplicaInfo>;
  /** Kills and removes a replica at once (no graceful stop); resolves when its port is free. Idempotent. */
  remove(id: string): Promise<void>;
  /** Every replica this orchestrator owns, running or not. */
  list(): Promise<ReplicaInfo[]>;
  /** Subscribes to replica exits as soon as the runtime learns of them; returns an unsubscribe function. */
  onExit(listener: (exit: ReplicaExit) => void): () => void;
  /** Releases the runtime's own resources (event streams, handles); does not remove replicas. */
  close(): Promise<void>;
  /** Removes every replica this runtime owns (a full teardown); safe after close(). */
  removeAll(): Promise<void>;
}
