/**
 * Lets containers reach services that listen on the host's loopback interface only.
 *
 * Why: on a developer machine (and in CI) MariaDB listens on 127.0.0.1 and grants root only
 * to 127.0.0.1/localhost, and the front door may listen on loopback too. Inside a container,
 * 127.0.0.1 is the container itself, so a DATABASE_URL or USERS_URL naming the host's loopback
 * cannot work as given. Rather than loosen the server's bind address or grants, the
 * orchestrator relays: it listens on the Docker bridge gateway (e.g. 172.17.0.1, reachable
 * from every container on the default bridge and from nothing outside this host) on the
 * SAME port and forwards each connection to the loopback server, which sees a 127.0.0.1
 * client. The container gets the URL with its host rewritten to the gateway. Keeping the port
 * unchanged makes the rewritten URL the same after an orchestrator restart, so adopted
 * containers reconnect to the new orchestrator's relay.
 */
import net from 'node:net';
import type { Logger } from '../common/log';

export interface TcpRelay {
  readonly listenHost: string;
  readonly listenPort: number;
  close(): Promise<void>;
}

export interface TcpRelayOptions {
  listenHost: string;
  listenPort: number;
  targetHost: string;
  targetPort: number;
  logger: Logger;
}

/** Forwards every connection on listenHost:listenPort to targetHost:targetPort, byte for byte. */
export function startTcpRelay(options: TcpRelayOptions): Promise<TcpRelay> {
  const { listenHost, targetHost, targetPort, logger } = options;
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = net.createServer((client) => {
    track(client);
    const upstream = net.connect({ host: targetHost, port: targetPort });
    track(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const fail = (side: string) => (error: Error) => {
      logger.debug('relay connection failed', {
        side,
        target: `${targetHost}:${targetPort}`,
        error: error.message,
      });
      client.destroy();
      upstream.destroy();
    };
    client.on('error', fail('client'));
    upstream.on('error', fail('upstream'));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listenPort, listenHost, () => {
      server.off('error', reject);
      server.on('error', (error) => logger.warn('relay error', { error: error.message }));
      const { port } = server.address() as net.AddressInfo;
      resolve({
        listenHost,
        listenPort: port,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

const LOOPBACK_NAMES = new Set(['localhost', '::1', '[::1]']);
const DEFAULT_PORTS: Record<string, number> = {
  'mysql:': 3306,
  'http:': 80,
  'https:': 443,
  'postgres:': 5432,
};

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_NAMES.has(hostname.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** The loopback target a URL-valued setting names, or null when it names something else. */
export function loopbackTarget(value: string): { host: string; port: number } | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (!url.hostname || !isLoopbackHost(url.hostname)) return null;
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[url.protocol];
  if (!port) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return { host: host === 'localhost' ? '127.0.0.1' : host, port };
}

/** The same URL with its loopback host replaced by the gateway address. */
export function withHost(value: string, host: string): string {
  const url = new URL(value);
  url.hostname = host;
  return url.toString().replace(/\/$/, value.endsWith('/') ? '/' : '');
}

export interface LoopbackRelays {
  /** The env a container should get: loopback URLs point at relays on the gateway. */
  rewriteEnv(env: Record<string, string>): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export interface LoopbackRelaysOptions {
  /** Address containers reach the host on (the bridge network's gateway), looked up once, when first needed. */
  gatewayAddress: () => Promise<string>;
  logger: Logger;
}

export function createLoopbackRelays(options: LoopbackRelaysOptions): LoopbackRelays {
  const { logger } = options;
  let gateway: Promise<string> | undefined;
  /** One relay (or the knowledge that none is needed) per target, shared by every container. */
  const relays = new Map<string, Promise<TcpRelay | null>>();

  async function ensureRelay(gatewayHost: string, target: { host: string; port: number }): Promise<void> {
    const key = `${target.host}:${target.port}`;
    let relay = relays.get(key);
    if (!relay) {
      relay = openRelay(gatewayHost, target);
      relays.set(key, relay);
      relay.catch(() => relays.delete(key));
    }
    await relay;
  }

  async function openRelay(
    gatewayHost: string,
    target: { host: string; port: number },
  ): Promise<TcpRelay | null> {
    try {
      const relay = await startTcpRelay({
        listenHost: gatewayHost,
        listenPort: target.port,
        targetHost: target.host,
        targetPort: target.port,
        logger,
      });
      logger.info('relaying loopback service to containers', {
        listen: `${gatewayHost}:${target.port}`,
        target: `${target.host}:${target.port}`,
      });
      return relay;
    } catch (error) {
      // Something already listens there: a server bound to all interfaces (the front door on
      // 0.0.0.0, say) or another orchestrator's relay to the same target. Either way the port
      // on the gateway already leads to the service.
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        logger.info('loopback service already reachable on the gateway', {
          listen: `${gatewayHost}:${target.port}`,
        });
        return null;
      }
      throw error;
    }
  }

  return {
    async rewriteEnv(env) {
      const rewritten: Record<string, string> = { ...env };
      for (const [name, value] of Object.entries(env)) {
        const target = loopbackTarget(value);
        if (!target) continue;
        gateway ??= options.gatewayAddress();
        const gatewayHost = await gateway;
        await ensureRelay(gatewayHost, target);
        rewritten[name] = withHost(value, gatewayHost);
      }
      return rewritten;
    },
    async close() {
      const open = await Promise.allSettled(relays.values());
      relays.clear();
      await Promise.all(open.map((r) => (r.status === 'fulfilled' && r.value ? r.value.close() : undefined)));
    },
  };
}
