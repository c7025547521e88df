import { strayReplicas, takeOver } from '../../orchestrator/takeover';
import type { ReplicaInfo } from '../../orchestrator/runtime';
import { keptLogger } from './parts';

const replica = (id: string, pool: string, port: number): ReplicaInfo => ({
  id,
  pool,
  port,
  specHash: 'h',
  running: true,
});

describe('takeOver', () => {
  test('a replica of a pool no longer configured is a stray; one of a configured pool is not', () => {
    const existing = [replica('a', 'acts', 21000), replica('o', 'old', 23000)];
    expect(strayReplicas(existing, new Set(['acts', 'users']))).toEqual([existing[1]]);
  });

  test('strays are removed, then every pool adopts from the full list and is brought to its desired count', async () => {
    const existing = [replica('a', 'acts', 21000), replica('o', 'old', 23000), replica('u', 'users', 22000)];
    const calls: string[] = [];
    const runtime = {
      list: async () => existing,
      remove: async (id: string) => void calls.push(`remove ${id}`),
    };
    const poolNamed = (name: string, adopts: number, desiredReplicas: number) => ({
      name,
      desiredReplicas,
      adopt: async (listed: ReplicaInfo[]) => {
        calls.push(`${name} adopts from ${listed.map((r) => r.id).join()}`);
        return adopts;
      },
      scaleTo: async (desired: number, reason: string) => void calls.push(`${name} to ${desired}: ${reason}`),
    });
    const pools = new Map([
      ['acts', poolNamed('acts', 1, 1)],
      ['users', poolNamed('users', 0, 2)],
    ]);
    const { logger, lines } = keptLogger();

    await takeOver(runtime, pools, logger);

    expect(calls).toEqual([
      'remove o',
      'acts adopts from a,o,u',
      'users adopts from a,o,u',
      'acts to 1: orchestrator start',
      'users to 2: orchestrator start',
    ]);
    expect(lines.map((l) => [l.msg, l.pool])).toEqual([
      ['removing stray replica', 'old'],
      ['adopted replicas', 'acts'],
    ]);
  });
});
