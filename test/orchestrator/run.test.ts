import net from 'node:net';
import { parseConfig } from '../../orchestrator/config';
import { ERROR_CODES, errorCode } from '../../orchestrator/errors';
import { silentLogger } from '../../common/log';
import { runOrchestrator, type RunPolicy } from '../../orchestrator/run';
import type { ContainerRuntime, ReplicaInfo } from '../../orchestrator/runtime';
import { freePortRange } from './helpers';

/** A runtime that only records what it is asked; replicas never become healthy. */
function recordingRuntime() {
  const calls: string[] = [];
  const replicas = new Map<string, ReplicaInfo>();
  let next = 0;
  const runtime: ContainerRuntime = {
    async start(spec) {
      const info = {
        id: `r${next++}`,
        pool: spec.pool,
        port: spec.port,
        specHash: spec.specHash,
        running: true,
      };
      replicas.set(info.id, info);
      calls.push(`start ${spec.port}`);
      return info;
    },
    async remove(id) {
      replicas.delete(id);
      calls.push(`remove ${id}`);
    },
    async list() {
      return [...replicas.values()];
    },
    onExit: () => () => undefined,
    async close() {
      calls.push('close');
    },
    async removeAll() {
      calls.push('removeAll');
      replicas.clear();
    },
  };
  return { runtime, calls };
}

const SIGNAL = 'SIGUSR2';

async function configOn(listenPort: number) {
  const firstPort = await freePortRange(2);
  return parseConfig({
    listen: { host: '127.0.0.1', port: listenPort },
    admin: { host: '127.0.0.1', port: 0 },
    runtime: { kind: 'process' },
    pools: [{ name: 'acts', command: ['unused'], firstPort, maxReplicas: 2 }],
  });
}

const policy = (teardown: boolean, repeatedSignal: RunPolicy['repeatedSignal']): RunPolicy => ({
  logger: silentLogger,
  teardown,
  signals: [SIGNAL],
  repeatedSignal,
});

afterEach(() => process.removeAllListeners(SIGNAL));

describe('runOrchestrator', () => {
  test('a taken listen port rejects with the listen code, releases the runtime and starts no replica', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const { runtime, calls } = recordingRuntime();
    try {
      const error = await runOrchestrator(
        await configOn(port),
        policy(true, 'ignore'),
        {
          stopped: () => undefined,
          stopFailed: () => undefined,
        },
        runtime,
      ).catch((err: unknown) => err);
      expect(errorCode(error)).toBe(ERROR_CODES.listen);
      expect(calls).toEqual(['close']);
    } finally {
      blocker.close();
    }
  });

  test('a signal stops it, tears down with removeAll, and a repeated signal is ignored', async () => {
    const { runtime, calls } = recordingRuntime();
    const events: string[] = [];
    let stopped!: () => void;
    const done = new Promise<void>((resolve) => (stopped = resolve));
    const running = await runOrchestrator(
      await configOn(0),
      policy(true, 'ignore'),
      {
        stopping: (signal) => events.push(`stopping ${signal}`),
        stopped: () => {
          events.push('stopped');
          stopped();
        },
        stopFailed: (err) => events.push(`failed ${err.message}`),
      },
      runtime,
    );
    expect(running.orchestrator.frontDoorPort).toBeGreaterThan(0);
    process.emit(SIGNAL, SIGNAL);
    process.emit(SIGNAL, SIGNAL);
    await done;
    expect(events).toEqual([`stopping ${SIGNAL}`, 'stopped']);
    expect(calls.some((call) => call.startsWith('start '))).toBe(true);
    expect(calls.slice(-2)).toEqual(['close', 'removeAll']);
  });

  test('without teardown the replicas are left for a later run to adopt', async () => {
    const { runtime, calls } = recordingRuntime();
    const running = await runOrchestrator(
      await configOn(0),
      policy(false, 'exit'),
      {
        stopped: () => undefined,
        stopFailed: () => undefined,
      },
      runtime,
    );
    await running.stop();
    expect(calls).not.toContain('removeAll');
    expect(calls.filter((call) => call.startsWith('remove '))).toEqual([]);
  });
});
