import { DEFAULT_HEALTH } from '../../orchestrator/config';
import { buildPools, poolBackoff, poolOwning, routeExits } from '../../orchestrator/pools';
import type { ContainerRuntime, ReplicaExit } from '../../orchestrator/runtime';
import { keptLogger, twoPoolConfig } from './parts';

const noRuntime = {} as ContainerRuntime;

describe('buildPools', () => {
  test('every configured pool gets its own pool and its own balancer', () => {
    const { logger } = keptLogger();
    const { pools, balancers } = buildPools(twoPoolConfig(), { runtime: noRuntime, logger });
    expect([...pools.keys()]).toEqual(['acts', 'users']);
    expect([...balancers.keys()]).toEqual(['acts', 'users']);
    expect(balancers.get('acts')).not.toBe(balancers.get('users'));
    expect(pools.get('users')!.desiredReplicas).toBe(2);
  });

  test('a port belongs to the pool whose range holds it, and to none outside every range', () => {
    const { logger } = keptLogger();
    const { pools } = buildPools(twoPoolConfig(), { runtime: noRuntime, logger });
    expect(poolOwning(pools.values(), 21002)?.name).toBe('acts');
    expect(poolOwning(pools.values(), 22001)?.name).toBe('users');
    expect(poolOwning(pools.values(), 21003)).toBeUndefined();
    expect(poolOwning(pools.values(), 8080)).toBeUndefined();
  });
});

describe('poolBackoff', () => {
  test.each([
    ['a short health interval: the backoff cap', { intervalMs: 500, backoffMaxMs: 30_000 }, 30_000],
    ['a long health interval: ten intervals', { intervalMs: 5_000, backoffMaxMs: 30_000 }, 50_000],
  ])('a replica counts as stable after %s', (_, health, stableMs) => {
    expect(poolBackoff({ ...DEFAULT_HEALTH, ...health })).toEqual({
      initialMs: DEFAULT_HEALTH.backoffInitialMs,
      maxMs: health.backoffMaxMs,
      stableMs,
    });
  });
});

describe('routeExits', () => {
  test('an exit goes to its own pool only, is logged, and nothing arrives after unsubscribing', () => {
    const listeners = new Set<(exit: ReplicaExit) => void>();
    const runtime = {
      onExit(listener: (exit: ReplicaExit) => void) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    const seen: string[] = [];
    const pools = new Map([
      ['acts', { onExit: (e: ReplicaExit) => seen.push(`acts ${e.port}`) }],
      ['users', { onExit: (e: ReplicaExit) => seen.push(`users ${e.port}`) }],
    ]);
    const { logger, lines } = keptLogger();
    const unsubscribe = routeExits(runtime, pools, logger);
    const exit = (pool: string, port: number) =>
      listeners.forEach((l) => l({ id: 'pid:1', pool, port, reason: 'killed by SIGKILL' }));

    exit('users', 22000);
    exit('gone', 23000);
    unsubscribe();
    exit('acts', 21000);

    expect(seen).toEqual(['users 22000']);
    expect(lines.filter((l) => l.msg === 'replica exited').map((l) => l.pool)).toEqual(['users', 'gone']);
  });
});
