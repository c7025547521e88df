/**
 * One behaviour suite for every ContainerRuntime: what the control plane relies on, run
 * against the process runtime and the Docker runtime alike, with real replicas of the acts
 * service on free ports.
 */
import http from 'node:http';
import net from 'node:net';
import { freePort } from '../support/requirements';
import type { ContainerRuntime, ReplicaExit, ReplicaInfo, ReplicaSpec } from '../../orchestrator/runtime';

export interface RuntimeHarness {
  /** A fresh runtime; the suite closes it. */
  createRuntime(): ContainerRuntime;
  /** A spec for a real acts replica on the given host port. */
  spec(port: number): ReplicaSpec;
  /** Kills a replica from outside the runtime, as an operator or the kernel would (`docker kill`, `kill -9`). */
  killFromOutside(replica: ReplicaInfo): Promise<void>;
  /** Whether nothing of the replica is left (no container, no process). */
  isGone(replica: ReplicaInfo): Promise<boolean>;
  /** Removes anything a failed test left behind. */
  cleanup(runtime: ContainerRuntime): Promise<void>;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** One request on a fresh connection (no pooling, so nothing keeps a removed replica's port busy). */
export function httpGet(port: number, path: string, method = 'GET', host = '127.0.0.1'): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path, method, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} on ${port} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Polls until `check` holds; the bound only keeps a broken build from hanging the suite. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  boundMs = 20_000,
): Promise<T> {
  const giveUpAt = Date.now() + boundMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > giveUpAt) {
      throw new Error(`gave up waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function waitForHealthy(port: number, boundMs = 20_000): Promise<true> {
  return waitFor(
    `a healthy replica on port ${port}`,
    async () => (await httpGet(port, '/api/v1/_health')).status === 200 || undefined,
    boundMs,
  );
}

/** Whether a TCP connection to the port is accepted right now. */
export function accepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Whether this process can bind the port itself (nothing else holds it). */
export function canBind(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export function runtimeContract(name: string, harness: RuntimeHarness): void {
  describe(`${name} runtime contract`, () => {
    let runtime: ContainerRuntime;

    beforeEach(() => {
      runtime = harness.createRuntime();
    });

    afterEach(async () => {
      await harness.cleanup(runtime);
      await runtime.close();
    });

    test('a started replica answers its health check on its host port', async () => {
      const port = await freePort();
      const replica = await runtime.start(harness.spec(port));
      expect(replica).toMatchObject({ pool: harness.spec(port).pool, port, running: true });
      await waitForHealthy(port);
      const count = await httpGet(port, '/api/v1/_count');
      expect(count).toEqual({ status: 200, body: '[0]' });
    });

    test('list shows every replica it owns with its pool, port and spec hash', async () => {
      const [first, second] = [await freePort(), await freePort()];
      const a = await runtime.start(harness.spec(first));
      const b = await runtime.start(harness.spec(second));
      const listed = await runtime.list();
      expect(listed).toEqual(
        expect.arrayContaining([
          { id: a.id, pool: a.pool, port: first, specHash: harness.spec(first).specHash, running: true },
          { id: b.id, pool: b.pool, port: second, specHash: harness.spec(second).specHash, running: true },
        ]),
      );
      expect(listed).toHaveLength(2);
    });

    test('remove resolves with the port free and the replica gone', async () => {
      const port = await freePort();
      const replica = await runtime.start(harness.spec(port));
      await waitForHealthy(port);
      await runtime.remove(replica.id);
      expect(await accepts(port)).toBe(false);
      expect(await canBind(port)).toBe(true);
      expect(await harness.isGone(replica)).toBe(true);
      expect((await runtime.list()).map((r) => r.id)).not.toContain(replica.id);
    });

    test('remove is idempotent', async () => {
      const port = await freePort();
      const replica = await runtime.start(harness.spec(port));
      await runtime.remove(replica.id);
      await expect(runtime.remove(replica.id)).resolves.toBeUndefined();
    });

    test('an exit from outside is reported through onExit with the replica it was', async () => {
      const port = await freePort();
      const exits: ReplicaExit[] = [];
      runtime.onExit((exit) => exits.push(exit));
      const replica = await runtime.start(harness.spec(port));
      await waitForHealthy(port);
      await harness.killFromOutside(replica);
      const exit = await waitFor('the exit to be reported', async () =>
        exits.find((e) => e.id === replica.id),
      );
      expect(exit).toMatchObject({ id: replica.id, pool: replica.pool, port });
      expect(exit.reason).toMatch(/kill|137|SIGKILL/i);
    });

    test('an unsubscribed listener hears nothing', async () => {
      const port = await freePort();
      const heard: ReplicaExit[] = [];
      const stillSubscribed: ReplicaExit[] = [];
      const unsubscribe = runtime.onExit((exit) => heard.push(exit));
      runtime.onExit((exit) => stillSubscribed.push(exit));
      unsubscribe();
      const replica = await runtime.start(harness.spec(port));
      await waitForHealthy(port);
      await harness.killFromOutside(replica);
      await waitFor('the exit to be reported', async () => stillSubscribed.some((e) => e.id === replica.id));
      expect(heard).toEqual([]);
    });

    test('a replacement on the same port is a new replica with a new id', async () => {
      const port = await freePort();
      const old = await runtime.start(harness.spec(port));
      await waitForHealthy(port);
      await runtime.remove(old.id);
      const replacement = await runtime.start(harness.spec(port));
      expect(replacement.id).not.toBe(old.id);
      await waitForHealthy(port);
      expect((await runtime.list()).map((r) => r.id)).toEqual([replacement.id]);
    });
  });
}
