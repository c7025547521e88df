/**
 * Replicas as containers on the local Docker engine. The only file that imports dockerode;
 * it declares just the calls it makes and turns Docker's payloads into small records first.
 *
 * Every call carries a deadline (a hung engine must not hang the control plane) except the
 * events stream, which is meant to stay open and is reconnected with backoff when it ends.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import Docker from 'dockerode';
import { ORCHESTRATOR_OWNER } from '../common/topology';
import { ERROR_CODES, OrchestratorError } from './errors';
import type { Logger } from '../common/log';
import type { ContainerRuntime, ReplicaExit, ReplicaInfo, ReplicaSpec } from './runtime';
import { createLoopbackRelays, type LoopbackRelays } from './tcp-relay';

// ---- the slice of dockerode this runtime calls --------------------------------------------

interface Deadline {
  abortSignal?: AbortSignal;
}

export interface ContainerCreateRequest extends Deadline {
  name: string;
  Image: string;
  Env: string[];
  Labels: Record<string, string>;
  ExposedPorts: Record<string, object>;
  HostConfig: {
    PortBindings: Record<string, { HostIp: string; HostPort: string }[]>;
    Binds: string[];
    RestartPolicy: { Name: 'no' };
    LogConfig: { Type: string; Config: Record<string, string> };
  };
}

export interface ListedContainer {
  Id: string;
  Names?: string[];
  Labels?: Record<string, string>;
  State?: string;
}

export interface DockerContainerHandle {
  id: string;
  start(opts: Deadline): Promise<unknown>;
  remove(opts: Deadline & { force: boolean; v?: boolean }): Promise<unknown>;
  inspect(opts: Deadline): Promise<{ Id: string; Config?: { Labels?: Record<string, string> | null } }>;
}

export interface DockerApi {
  createContainer(opts: ContainerCreateRequest): Promise<{ id: string }>;
  getContainer(idOrName: string): DockerContainerHandle;
  listContainers(
    opts: Deadline & { all: boolean; filters: Record<string, string[]> },
  ): Promise<ListedContainer[]>;
  getEvents(opts: {
    filters: Record<string, string[]>;
    since?: number;
    abortSignal?: AbortSignal;
  }): Promise<NodeJS.ReadableStream>;
  getNetwork(name: string): { inspect(opts: Deadline): Promise<{ IPAM?: { Config?: IpamConfig[] | null } }> };
}

export interface IpamConfig {
  Subnet?: string;
  Gateway?: string;
}

// ---- labels, names and the create request (pure) -----------------------------------------

export const LABEL = {
  owner: 'selfieless.owner',
  pool: 'selfieless.pool',
  port: 'selfieless.port',
  spec: 'selfieless.spec',
} as const;

/**
 * `<pool>-<port>-<6 hex>`: unique per start, so a new replica never clashes with one still
 * being removed, and free of any word but the pool's (hex has no "acts" in it), so only
 * the acts pool's containers say "acts" in `docker ps`.
 */
export function containerName(pool: string, port: number, random = randomBytes(3).toString('hex')): string {
  const safePool = pool.replace(/[^a-zA-Z0-9_.-]/g, '-').replace(/^[^a-zA-Z0-9]+/, '') || 'replica';
  return `${safePool}-${port}-${random}`;
}

export function createRequest(
  spec: ReplicaSpec,
  env: Record<string, string>,
  owner: string,
  publishHost: string,
  name = containerName(spec.pool, spec.port),
): ContainerCreateRequest {
  if (!spec.image)
    throw new OrchestratorError(
      ERROR_CODES.replicaSpec,
      `pool ${spec.pool}: the Docker runtime needs an image`,
    );
  const containerPort = `${spec.internalPort}/tcp`;
  return {
    name,
    Image: spec.image,
    Env: Object.entries({ ...env, PORT: String(spec.internalPort) }).map(([k, v]) => `${k}=${v}`),
    Labels: {
      [LABEL.owner]: owner,
      [LABEL.pool]: spec.pool,
      [LABEL.port]: String(spec.port),
      [LABEL.spec]: spec.specHash,
    },
    ExposedPorts: { [containerPort]: {} },
    HostConfig: {
      // HostPort is a string in Docker's API.
      PortBindings: { [containerPort]: [{ HostIp: publishHost, HostPort: String(spec.port) }] },
      Binds: (spec.mounts ?? []).map((m) => `${m.source}:${m.target}`),
      // The orchestrator replaces replicas itself; Docker restarting them would fight it.
      RestartPolicy: { Name: 'no' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
    },
  };
}

/** A listed container as a replica, or null when its labels are not ours or are malformed. */
export function toReplicaInfo(listed: ListedContainer, owner: string): ReplicaInfo | null {
  const labels = listed.Labels ?? {};
  const port = Number(labels[LABEL.port]);
  if (labels[LABEL.owner] !== owner || !labels[LABEL.pool] || !Number.isInteger(port) || port <= 0)
    return null;
  return {
    id: listed.Id,
    pool: labels[LABEL.pool],
    port,
    specHash: labels[LABEL.spec] ?? '',
    running: listed.State === 'running',
  };
}

export interface DockerEvent {
  id: string;
  action: string;
  attributes: Record<string, string>;
  timeNano?: number;
}

/** One line of the events stream as a small record; null for anything unparsable. */
export function parseEventLine(line: string): DockerEvent | null {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const event = raw as {
    id?: string;
    Action?: string;
    status?: string;
    timeNano?: number;
    Actor?: { ID?: string; Attributes?: Record<string, string> };
  };
  const id = event.Actor?.ID ?? event.id;
  const action = event.Action ?? event.status;
  if (!id || !action) return null;
  return { id, action, attributes: event.Actor?.Attributes ?? {}, timeNano: event.timeNano };
}

/** The exit a container event means for our replicas, or null when it is not one of ours or not an exit. */
export function exitFromEvent(event: DockerEvent, owner: string): ReplicaExit | null {
  const labels = event.attributes;
  const port = Number(labels[LABEL.port]);
  if (labels[LABEL.owner] !== owner || !labels[LABEL.pool] || !Number.isInteger(port)) return null;
  let reason: string;
  if (event.action === 'oom') reason = 'oom';
  else if (event.action === 'destroy') reason = 'destroyed';
  else if (event.action === 'die') {
    const code = labels.exitCode;
    reason = code === '137' ? 'killed (exit code 137)' : `exited with code ${code ?? 'unknown'}`;
  } else return null;
  return { id: event.id, pool: labels[LABEL.pool], port, reason };
}

/**
 * The host's address on the bridge network, which containers reach the host on. Docker
 * often leaves the default bridge's Gateway out of its IPAM config; then it is the host's
 * address inside the bridge subnet (docker0's), or, while docker0 is down and unlisted, the
 * subnet's first address, which is where Docker puts it.
 */
export function bridgeGateway(configs: IpamConfig[], hostAddresses: string[]): string | undefined {
  for (const config of configs) {
    if (config.Gateway) return config.Gateway;
    const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(config.Subnet ?? '');
    if (!match) continue;
    const toNumber = (parts: string[]) => parts.reduce((n, part) => n * 256 + Number(part), 0);
    const bits = Number(match[5]);
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    const network = (toNumber(match.slice(1, 5)) & mask) >>> 0;
    const inside = hostAddresses.find(
      (a) => /^\d+\.\d+\.\d+\.\d+$/.test(a) && (toNumber(a.split('.')) & mask) >>> 0 === network,
    );
    if (inside) return inside;
    const first = network + 1;
    return [24, 16, 8, 0].map((shift) => (first >>> shift) & 255).join('.');
  }
  return undefined;
}

export function hostIPv4Addresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((i) => i.family === 'IPv4' && !i.internal)
    .map((i) => i.address);
}

// ---- the runtime ---------------------------------------------------------------------------

export interface DockerRuntimeOptions {
  /** Host address container ports are published on (`0.0.0.0` on EC2, `127.0.0.1` locally). */
  publishHost: string;
  logger: Logger;
  /** A dockerode client (or any object with the same calls); defaults to the local engine's socket. */
  docker?: DockerApi;
  /** Value of the owner label; separate owners never see or touch each other's containers. */
  owner?: string;
  /** Per-call deadlines in ms. */
  timeouts?: Partial<typeof DEFAULT_TIMEOUTS>;
}

const DEFAULT_TIMEOUTS = { create: 15_000, start: 15_000, remove: 15_000, list: 10_000, inspect: 5_000 };
const PORT_RETRY_DELAY_MS = 200;
const PORT_RETRIES = 10;

interface DockerError {
  statusCode?: number;
  message?: string;
  json?: { message?: string };
}

function statusOf(error: unknown): number | undefined {
  return (error as DockerError)?.statusCode;
}

function messageOf(error: unknown): string {
  const e = error as DockerError;
  return e?.json?.message ?? e?.message ?? String(error);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withDeadline<T>(
  what: string,
  ms: number,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(
        new OrchestratorError(ERROR_CODES.engineTimeout, `docker ${what} did not answer within ${ms} ms`),
      );
    }, ms);
  });
  try {
    return await Promise.race([call(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export function createDockerRuntime(options: DockerRuntimeOptions): ContainerRuntime {
  const docker: DockerApi = options.docker ?? (new Docker() as unknown as DockerApi);
  const owner = options.owner ?? ORCHESTRATOR_OWNER;
  const { publishHost, logger } = options;
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const listeners = new Set<(exit: ReplicaExit) => void>();
  const relays: LoopbackRelays = createLoopbackRelays({
    logger,
    gatewayAddress: async () => {
      const network = await withDeadline('network inspect', timeouts.inspect, (abortSignal) =>
        docker.getNetwork('bridge').inspect({ abortSignal }),
      );
      const gateway = bridgeGateway(network.IPAM?.Config ?? [], hostIPv4Addresses());
      if (!gateway)
        throw new OrchestratorError(
          ERROR_CODES.engine,
          "cannot tell the bridge network's gateway address (no Gateway, no host address in its subnet)",
        );
      return gateway;
    },
  });

  async function removeById(id: string): Promise<void> {
    try {
      await withDeadline('remove', timeouts.remove, (abortSignal) =>
        docker.getContainer(id).remove({ force: true, v: true, abortSignal }),
      );
      return;
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return;
      if (status !== 409) throw error;
    }
    // 409: a removal is already in progress; done when the container is gone.
    const giveUpAt = Date.now() + timeouts.remove;
    while (Date.now() < giveUpAt) {
      try {
        await withDeadline('inspect', timeouts.inspect, (abortSignal) =>
          docker.getContainer(id).inspect({ abortSignal }),
        );
      } catch (error) {
        if (statusOf(error) === 404) return;
        throw error;
      }
      await sleep(100);
    }
    throw new OrchestratorError(
      ERROR_CODES.replicaRemove,
      `container ${id} is still being removed after ${timeouts.remove} ms`,
    );
  }

  /** A name clash means a container of that name exists: remove it if it is ours, then use a new name. */
  async function clearNameClash(name: string): Promise<void> {
    try {
      const existing = await withDeadline('inspect', timeouts.inspect, (abortSignal) =>
        docker.getContainer(name).inspect({ abortSignal }),
      );
      if (existing.Config?.Labels?.[LABEL.owner] === owner) await removeById(existing.Id);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  async function create(spec: ReplicaSpec, env: Record<string, string>): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const request = createRequest(spec, env, owner, publishHost);
      try {
        const created = await withDeadline('create', timeouts.create, (abortSignal) =>
          docker.createContainer({ ...request, abortSignal }),
        );
        return created.id;
      } catch (error) {
        if (statusOf(error) !== 409 || attempt >= 2) throw error;
        logger.warn('container name in use', { name: request.name, error: messageOf(error) });
        await clearNameClash(request.name);
      }
    }
  }

  const runtime: ContainerRuntime = {
    async start(spec) {
      const env = await relays.rewriteEnv(spec.env);
      for (let attempt = 0; ; attempt++) {
        const id = await create(spec, env);
        try {
          await withDeadline('start', timeouts.start, (abortSignal) =>
            docker.getContainer(id).start({ abortSignal }),
          );
          logger.info('container started', {
            pool: spec.pool,
            port: spec.port,
            id: id.slice(0, 12),
            image: spec.image,
          });
          return { id, pool: spec.pool, port: spec.port, specHash: spec.specHash, running: true };
        } catch (error) {
          await removeById(id).catch((e) =>
            logger.warn('could not remove a container that failed to start', { id, error: messageOf(e) }),
          );
          // The engine frees a removed container's port a moment after the removal returns.
          if (
            /port is already allocated|address already in use/i.test(messageOf(error)) &&
            attempt < PORT_RETRIES
          ) {
            await sleep(PORT_RETRY_DELAY_MS);
            continue;
          }
          throw new OrchestratorError(
            ERROR_CODES.replicaStart,
            `could not start ${spec.image} on port ${spec.port}: ${messageOf(error)}`,
            {
              cause: error,
            },
          );
        }
      }
    },

    remove: removeById,

    async list() {
      const listed = await withDeadline('list', timeouts.list, (abortSignal) =>
        docker.listContainers({ all: true, filters: { label: [`${LABEL.owner}=${owner}`] }, abortSignal }),
      );
      return listed.map((c) => toReplicaInfo(c, owner)).filter((r): r is ReplicaInfo => r !== null);
    },

    onExit(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async close() {
      events.stop();
      listeners.clear();
      await relays.close();
    },

    async removeAll() {
      const owned = await runtime.list();
      await Promise.all(owned.map((replica) => removeById(replica.id)));
    },
  };

  const events = watchExits(docker, owner, logger, (exit) => {
    for (const listener of listeners) {
      try {
        listener(exit);
      } catch (error) {
        logger.error('exit listener failed', { error: messageOf(error) });
      }
    }
  });
  return runtime;
}

/**
 * Follows the engine's container events for our label and reports each replica's exit once
 * (an OOM kill reports oom, die and destroy; a removal reports die and destroy). The stream
 * is newline-delimited JSON with no other framing; when it ends it is reopened with backoff,
 * from the time of the last event seen, so nothing that happened in between is missed.
 */
function watchExits(
  docker: DockerApi,
  owner: string,
  logger: Logger,
  emit: (exit: ReplicaExit) => void,
): { stop(): void } {
  const reported = new Set<string>();
  let since = Math.floor(Date.now() / 1000);
  let stopped = false;
  let backoffMs = 250;
  let controller: AbortController | undefined;
  let stream: NodeJS.ReadableStream | undefined;
  let retry: NodeJS.Timeout | undefined;

  const remember = (id: string) => {
    reported.add(id);
    if (reported.size > 2000) reported.delete(reported.values().next().value as string);
  };

  const handle = (line: string) => {
    const event = parseEventLine(line);
    if (!event) return;
    if (event.timeNano) since = Math.floor(event.timeNano / 1e9);
    const exit = exitFromEvent(event, owner);
    if (!exit || reported.has(exit.id)) return;
    remember(exit.id);
    emit(exit);
  };

  const reconnect = (why: string) => {
    if (stopped || retry) return;
    logger.warn('docker events stream ended; reconnecting', { reason: why, inMs: backoffMs });
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, backoffMs);
    backoffMs = Math.min(backoffMs * 2, 5000);
  };

  async function connect(): Promise<void> {
    controller = new AbortController();
    try {
      stream = await docker.getEvents({
        filters: {
          type: ['container'],
          event: ['die', 'oom', 'destroy'],
          label: [`${LABEL.owner}=${owner}`],
        },
        since,
        abortSignal: controller.signal,
      });
    } catch (error) {
      if (!stopped) reconnect(messageOf(error));
      return;
    }
    if (stopped) {
      destroyStream(stream);
      return;
    }
    let buffered = '';
    stream.on('data', (chunk: Buffer | string) => {
      backoffMs = 250;
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) handle(line);
      }
    });
    stream.on('error', (error: Error) => reconnect(error.message));
    stream.on('end', () => reconnect('end'));
    stream.on('close', () => reconnect('closed'));
  }

  void connect();
  return {
    stop() {
      stopped = true;
      clearTimeout(retry);
      controller?.abort();
      if (stream) destroyStream(stream);
    },
  };
}

function destroyStream(stream: NodeJS.ReadableStream): void {
  (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
}
