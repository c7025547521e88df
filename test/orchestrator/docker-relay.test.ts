/**
 * Containers reaching services that listen on the host's loopback only (MariaDB here, the
 * front door locally): which settings are rewritten, the relay's byte-for-byte forwarding on
 * real sockets, and a real container talking through it.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { promisify } from 'node:util';
import { bridgeGateway, hostIPv4Addresses, type IpamConfig } from '../../orchestrator/docker-runtime';
import { silentLogger } from '../../common/log';
import {
  createLoopbackRelays,
  isLoopbackHost,
  loopbackTarget,
  startTcpRelay,
  withHost,
} from '../../orchestrator/tcp-relay';
import { ensureImages } from '../../scripts/image-builder';
import { describeWith, freePort } from '../support/requirements';

const run = promisify(execFile);

describe('which settings name a loopback service', () => {
  test.each([
    ['mysql://root@127.0.0.1:3306/acts', { host: '127.0.0.1', port: 3306 }],
    ['mysql://root:pw@localhost/acts', { host: '127.0.0.1', port: 3306 }],
    ['http://127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    ['http://127.1.2.3', { host: '127.1.2.3', port: 80 }],
    ['https://[::1]:8443/x', { host: '::1', port: 8443 }],
  ])('%s → %j', (value, target) => {
    expect(loopbackTarget(value)).toEqual(target);
  });

  test.each([
    'mysql://root@172.17.0.1:3306/acts',
    'http://users.internal:8100',
    'sqlite:/data/acts.db',
    'sqlite:./data/acts.db',
    'warn',
    '127.0.0.1',
    'ftp://127.0.0.1/',
  ])('%s is left alone', (value) => {
    expect(loopbackTarget(value)).toBeNull();
  });

  test.each(['127.0.0.1', '127.255.0.9', 'localhost', 'LOCALHOST', '::1'])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  test.each(['128.0.0.1', '172.17.0.1', '1.127.0.0.1', 'localhost.example.com'])(
    '%s is not loopback',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );
});

describe('rewriting a URL to the gateway', () => {
  test.each([
    ['mysql://root:secret@127.0.0.1:3306/acts', 'mysql://root:secret@172.17.0.1:3306/acts'],
    ['mysql://root@localhost:3306/acts?charset=utf8mb4', 'mysql://root@172.17.0.1:3306/acts?charset=utf8mb4'],
    ['http://127.0.0.1:8080', 'http://172.17.0.1:8080'],
    ['http://127.0.0.1:8080/', 'http://172.17.0.1:8080/'],
  ])('%s → %s', (value, rewritten) => {
    expect(withHost(value, '172.17.0.1')).toBe(rewritten);
  });
});

/** A loopback server that answers every line with "echo:<line>". */
async function echoServer(port = 0, host = '127.0.0.1'): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => socket.write(`echo:${data}`));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return server;
}

function talk(port: number, host: string, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host }, () => socket.write(message));
    socket.setEncoding('utf8');
    socket.once('data', (data: string) => {
      socket.destroy();
      resolve(data);
    });
    socket.once('error', reject);
  });
}

const closeServer = (server: net.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('the TCP relay', () => {
  test('forwards bytes both ways and closes its connections when closed', async () => {
    const target = await echoServer();
    const relay = await startTcpRelay({
      listenHost: '127.0.0.1',
      listenPort: 0,
      targetHost: '127.0.0.1',
      targetPort: (target.address() as net.AddressInfo).port,
      logger: silentLogger,
    });
    expect(await talk(relay.listenPort, '127.0.0.1', 'hello')).toBe('echo:hello');
    await relay.close();
    await expect(talk(relay.listenPort, '127.0.0.1', 'again')).rejects.toThrow(/ECONNREFUSED/);
    await closeServer(target);
  });

  test('drops the client when the target refuses, without failing itself', async () => {
    const deadPort = await freePort();
    const relay = await startTcpRelay({
      listenHost: '127.0.0.1',
      listenPort: 0,
      targetHost: '127.0.0.1',
      targetPort: deadPort,
      logger: silentLogger,
    });
    const closed = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port: relay.listenPort, host: '127.0.0.1' });
      socket.on('error', () => {});
      socket.on('close', () => resolve(true));
    });
    expect(closed).toBe(true);
    const target = await echoServer(deadPort);
    expect(await talk(relay.listenPort, '127.0.0.1', 'later')).toBe('echo:later');
    await relay.close();
    await closeServer(target);
  });
});

describe('loopback relays for container settings', () => {
  // 127.0.0.2 stands in for the bridge gateway: another address of this host, same ports.
  const gateway = '127.0.0.2';

  test('rewrites loopback URLs to the gateway on the same port, with a relay behind them', async () => {
    const target = await echoServer();
    const port = (target.address() as net.AddressInfo).port;
    const relays = createLoopbackRelays({ gatewayAddress: async () => gateway, logger: silentLogger });
    const env = await relays.rewriteEnv({
      SERVICE_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: 'sqlite:/data/x.db',
      LOG_LEVEL: 'warn',
    });
    expect(env).toEqual({
      SERVICE_URL: `http://${gateway}:${port}`,
      DATABASE_URL: 'sqlite:/data/x.db',
      LOG_LEVEL: 'warn',
    });
    expect(await talk(port, gateway, 'via gateway')).toBe('echo:via gateway');
    await relays.close();
    await closeServer(target);
  });

  test('looks up the gateway only when a setting needs it', async () => {
    let lookups = 0;
    const relays = createLoopbackRelays({
      gatewayAddress: async () => (lookups++, gateway),
      logger: silentLogger,
    });
    await relays.rewriteEnv({ DATABASE_URL: 'sqlite:/data/x.db' });
    expect(lookups).toBe(0);
    await relays.close();
  });

  test('uses what already listens on the gateway port instead of failing', async () => {
    const target = await echoServer();
    const port = (target.address() as net.AddressInfo).port;
    const occupant = await echoServer(port, gateway);
    const relays = createLoopbackRelays({ gatewayAddress: async () => gateway, logger: silentLogger });
    const env = await relays.rewriteEnv({ URL: `http://localhost:${port}` });
    expect(env.URL).toBe(`http://${gateway}:${port}`);
    await relays.close();
    await closeServer(occupant);
    await closeServer(target);
  });
});

describeWith('docker', 'a container reaching a loopback-only server', () => {
  beforeAll(() => ensureImages({ log: () => {} }), 300_000);

  test('gets through the relay on the bridge gateway', async () => {
    const server = http.createServer((_req, res) => res.end('hello from the host loopback'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const { stdout: ipam } = await run('docker', [
      'network',
      'inspect',
      'bridge',
      '--format',
      '{{json .IPAM.Config}}',
    ]);
    const gateway = bridgeGateway(JSON.parse(ipam) as IpamConfig[], hostIPv4Addresses());
    expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const relays = createLoopbackRelays({ gatewayAddress: async () => gateway!, logger: silentLogger });
    try {
      const env = await relays.rewriteEnv({ TARGET: `http://127.0.0.1:${port}/` });
      const { stdout } = await run(
        'docker',
        [
          'run',
          '--rm',
          '-e',
          `TARGET=${env.TARGET}`,
          'acts:latest',
          'node',
          '-e',
          'fetch(process.env.TARGET).then((r) => r.text()).then(console.log)',
        ],
        { timeout: 30_000 },
      );
      expect(stdout.trim()).toBe('hello from the host loopback');
    } finally {
      await relays.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
