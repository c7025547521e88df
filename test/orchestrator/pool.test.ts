/**
 * The pool's lifecycle decisions on their own: a recording runtime, the real balancer, a
 * recording health watch and a manual clock, so replacement, backoff, draining, scaling and
 * adoption read as tables. The real-process suites (orchestrator.*.test.ts, faults.test.ts)
 * check the same behaviour end to end.
 */
import { RoundRobinBalancer } from '../../orchestrator/balancer';
import type { PoolConfig } from '../../orchestrator/config';
import { silentLogger } from '../../common/log';
import { Pool, specHashOf } from '../../orchestrator/pool';
import type { ContainerRuntime, ReplicaExit, ReplicaInfo, ReplicaSpec } from '../../orchestrator/runtime';
import { FakeClock } from './fake-clock';

const FIRST = 7000;
const config: PoolConfig = {
  name: 'acts',
  command: ['node', 'acts.js'],
  firstPort: FIRST,
  internalPort: 80,
  env: {},
  mounts: [],
  minReplicas: 1,
  maxReplicas: 4,
  autoscale: true,
  pathPrefixes: ['/api/v1/'],
};
const backoff = { initialMs: 100, maxMs: 400, stableMs: 10_000 };

class RecordingRuntime implements ContainerRuntime {
  events: string[] = [];
  private next = 1;
  async start(spec: ReplicaSpec): Promise<ReplicaInfo> {
    const id = `r${this.next++}`;
    this.events.push(`start ${spec.port} ${id}`);
    return { id, pool: spec.pool, port: spec.port, specHash: spec.specHash, running: true };
  }
  async remove(id: string): Promise<void> {
    this.events.push(`remove ${id}`);
  }
  async list(): Promise<ReplicaInfo[]> {
    return [];
  }
  onExit(_listener: (exit: ReplicaExit) => void): () => void {
    return () => {};
  }
  async close(): Promise<void> {}
  async removeAll(): Promise<void> {}
}

class RecordingHealth {
  events: string[] = [];
  watch(port: number) {
    this.events.push(`watch ${port}`);
  }
  unwatch(port: number) {
    this.events.push(`unwatch ${port}`);
  }
  recheck(port: number) {
    this.events.push(`recheck ${port}`);
  }
}

/** Lets every queued promise step run (the clock does not move). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

function setup(overrides: Partial<PoolConfig> = {}) {
  const clock = new FakeClock();
  const runtime = new RecordingRuntime();
  const rotation = new RoundRobinBalancer();
  const health = new RecordingHealth();
  const pool = new Pool({
    config: { ...config, ...overrides },
    runtime,
    rotation,
    health,
    logger: silentLogger,
    backoff,
    drainTimeoutMs: 5_000,
    replaceDrainMs: 1_000,
    timers: clock,
  });
  const healthy = (port: number) => pool.onHealthChange(port, 'healthy', 'probe passed');
  const replica = (port: number) => pool.status().find((r) => r.port === port);
  return { clock, runtime, rotation, health, pool, healthy, replica };
}

describe('Pool lifecycle decisions', () => {
  test('scale: starts the lowest missing ports, and removes the highest first when scaling down', async () => {
    const { pool, runtime, healthy } = setup();
    await pool.scaleTo(3, 'test');
    expect(runtime.events).toEqual([`start ${FIRST} r1`, `start ${FIRST + 1} r2`, `start ${FIRST + 2} r3`]);
    [FIRST, FIRST + 1, FIRST + 2].forEach(healthy);
    await pool.scaleTo(1, 'test');
    expect(runtime.events.slice(3)).toEqual(['remove r3', 'remove r2']);
    expect(pool.status().map((r) => r.port)).toEqual([FIRST]);
  });

  test.each([
    [0, 1],
    [2, 2],
    [4, 4],
    [9, 4],
  ])('scale: asked for %i replicas, the pool keeps %i (within min and max)', async (asked, kept) => {
    const { pool } = setup();
    await pool.scaleTo(asked, 'test');
    expect(pool.status()).toHaveLength(kept);
  });

  test('replace: an unhealthy replica leaves rotation, is removed, and a new one starts on the same port at once', async () => {
    const { pool, runtime, rotation, health, healthy, replica } = setup();
    await pool.scaleTo(1, 'test');
    healthy(FIRST);
    expect(rotation.isInRotation(FIRST)).toBe(true);
    pool.onHealthChange(FIRST, 'unhealthy', 'probe answered 500');
    expect(rotation.isInRotation(FIRST)).toBe(false);
    await settle();
    expect(runtime.events).toEqual([`start ${FIRST} r1`, 'remove r1', `start ${FIRST} r2`]);
    expect(health.events).toEqual([`watch ${FIRST}`, `unwatch ${FIRST}`, `watch ${FIRST}`]);
    expect(replica(FIRST)).toMatchObject({ id: 'r2', state: 'starting', restarts: 1, backoffMs: 0 });
  });

  test('unavailable: every replica whose database is unreachable leaves rotation, none is replaced, and each returns on a passing probe', async () => {
    const { pool, runtime, rotation, health, healthy, replica } = setup();
    await pool.scaleTo(2, 'test');
    [FIRST, FIRST + 1].forEach(healthy);
    pool.onHealthChange(FIRST, 'unavailable', 'probe answered 503');
    pool.onHealthChange(FIRST + 1, 'unavailable', 'probe answered 503');
    await settle();
    expect(rotation.isInRotation(FIRST)).toBe(false);
    expect(rotation.isInRotation(FIRST + 1)).toBe(false);
    expect(runtime.events).toEqual([`start ${FIRST} r1`, `start ${FIRST + 1} r2`]);
    expect(health.events).toEqual([`watch ${FIRST}`, `watch ${FIRST + 1}`]);
    expect(replica(FIRST)).toMatchObject({ id: 'r1', state: 'suspect', restarts: 0, failureStreak: 0 });
    [FIRST, FIRST + 1].forEach(healthy);
    expect(rotation.isInRotation(FIRST)).toBe(true);
    expect(rotation.isInRotation(FIRST + 1)).toBe(true);
    expect(replica(FIRST + 1)).toMatchObject({ id: 'r2', state: 'running', restarts: 0 });
  });

  test('unavailable for too long (reported unhealthy by the monitor): replaced like any other failure', async () => {
    const { pool, runtime, healthy } = setup();
    await pool.scaleTo(1, 'test');
    healthy(FIRST);
    pool.onHealthChange(FIRST, 'unavailable', 'probe answered 503');
    pool.onHealthChange(FIRST, 'unhealthy', 'probe answered 503 for 120000 ms');
    await settle();
    expect(runtime.events).toEqual([`start ${FIRST} r1`, 'remove r1', `start ${FIRST} r2`]);
  });

  test('replace: a replica still answering is removed only once its requests in flight are done (or after 1 s)', async () => {
    const { pool, runtime, rotation, clock, healthy } = setup();
    await pool.scaleTo(1, 'test');
    healthy(FIRST);
    rotation.acquire(FIRST);
    pool.onHealthChange(FIRST, 'unhealthy', 'probe answered 500');
    await settle();
    expect(runtime.events).toEqual([`start ${FIRST} r1`]);
    rotation.release(FIRST);
    await settle();
    expect(runtime.events).toEqual([`start ${FIRST} r1`, 'remove r1', `start ${FIRST} r2`]);

    healthy(FIRST);
    rotation.acquire(FIRST);
    pool.onHealthChange(FIRST, 'unhealthy', 'probe answered 500');
    await settle();
    expect(runtime.events).toHaveLength(3);
    clock.advance(1_000);
    await settle();
    expect(runtime.events.slice(3)).toEqual(['remove r2']);
    // Its second failure in a row: the new start waits out the first backoff step.
    clock.advance(100);
    await settle();
    expect(runtime.events.slice(3)).toEqual(['remove r2', `start ${FIRST} r3`]);
  });

  test('replace: an exited replica is replaced without waiting for a drain', async () => {
    const { pool, runtime, rotation, healthy } = setup();
    await pool.scaleTo(1, 'test');
    healthy(FIRST);
    rotation.acquire(FIRST);
    pool.onExit({ id: 'r1', pool: 'acts', port: FIRST, reason: 'killed by SIGKILL' });
    await settle();
    expect(runtime.events).toEqual([`start ${FIRST} r1`, 'remove r1', `start ${FIRST} r2`]);
  });

  test.each([
    [1, 0],
    [2, 100],
    [3, 200],
    [4, 400],
    [5, 400],
  ])('back off: failure %i in a row waits %i ms before the new start', async (failures, waitMs) => {
    const { pool, runtime, clock, replica } = setup();
    await pool.scaleTo(1, 'test');
    for (let i = 1; i < failures; i++) {
      pool.onHealthChange(FIRST, 'unhealthy', 'probe failed');
      await settle();
      clock.advance(400);
      await settle();
    }
    const startsBefore = runtime.events.filter((e) => e.startsWith('start')).length;
    pool.onHealthChange(FIRST, 'unhealthy', 'probe failed');
    await settle();
    expect(replica(FIRST)).toMatchObject({ failureStreak: failures, backoffMs: waitMs });
    const starts = () => runtime.events.filter((e) => e.startsWith('start')).length;
    if (waitMs > 0) {
      expect(replica(FIRST)!.state).toBe('backoff');
      clock.advance(waitMs - 1);
      await settle();
      expect(starts()).toBe(startsBefore);
      clock.advance(1);
      await settle();
    }
    expect(starts()).toBe(startsBefore + 1);
  });

  test('back off: a replica healthy for longer than stableMs starts a fresh streak', async () => {
    const { pool, clock, healthy, replica } = setup();
    await pool.scaleTo(1, 'test');
    pool.onHealthChange(FIRST, 'unhealthy', 'probe failed');
    await settle();
    pool.onHealthChange(FIRST, 'unhealthy', 'probe failed');
    await settle();
    expect(replica(FIRST)!.failureStreak).toBe(2);
    clock.advance(100);
    await settle();
    healthy(FIRST);
    clock.advance(10_000);
    pool.onHealthChange(FIRST, 'unhealthy', 'probe failed');
    await settle();
    expect(replica(FIRST)).toMatchObject({ failureStreak: 1, backoffMs: 0 });
  });

  test('drain: a replica scaled away leaves rotation at once and is removed when its last request ends', async () => {
    const { pool, runtime, rotation, healthy } = setup();
    await pool.scaleTo(2, 'test');
    [FIRST, FIRST + 1].forEach(healthy);
    rotation.acquire(FIRST + 1);
    const scaling = pool.scaleTo(1, 'test');
    await settle();
    expect(rotation.isInRotation(FIRST + 1)).toBe(false);
    expect(pool.status().find((r) => r.port === FIRST + 1)!.state).toBe('draining');
    expect(runtime.events).not.toContain('remove r2');
    rotation.release(FIRST + 1);
    await scaling;
    expect(runtime.events).toContain('remove r2');
  });

  test('drain: a request that never ends holds the removal for the drain timeout only', async () => {
    const { pool, runtime, rotation, clock, healthy } = setup();
    await pool.scaleTo(2, 'test');
    [FIRST, FIRST + 1].forEach(healthy);
    rotation.acquire(FIRST + 1);
    const scaling = pool.scaleTo(1, 'test');
    await settle();
    clock.advance(4_999);
    await settle();
    expect(runtime.events).not.toContain('remove r2');
    clock.advance(1);
    await scaling;
    expect(runtime.events).toContain('remove r2');
  });

  test('adopt: takes over current replicas in range and removes the rest', async () => {
    const { pool, runtime, health } = setup();
    const specHash = specHashOf(config);
    const listed: ReplicaInfo[] = [
      { id: 'a', pool: 'acts', port: FIRST, specHash, running: true },
      { id: 'b', pool: 'acts', port: FIRST + 1, specHash, running: true },
      { id: 'old-spec', pool: 'acts', port: FIRST + 2, specHash: 'other', running: true },
      { id: 'out-of-range', pool: 'acts', port: FIRST + 9, specHash, running: true },
      { id: 'dead', pool: 'acts', port: FIRST + 3, specHash, running: false },
      { id: 'users', pool: 'users', port: 8100, specHash, running: true },
    ];
    expect(await pool.adopt(listed)).toBe(2);
    expect(runtime.events.sort()).toEqual(['remove dead', 'remove old-spec', 'remove out-of-range']);
    expect(pool.desiredReplicas).toBe(2);
    expect(health.events).toEqual([`watch ${FIRST}`, `watch ${FIRST + 1}`]);
    await pool.scaleTo(pool.desiredReplicas, 'start');
    expect(runtime.events.filter((e) => e.startsWith('start'))).toEqual([]);
  });

  test('passive health: an ejected replica becomes suspect and is probed at once; a passing probe brings it back', async () => {
    const { pool, rotation, health, healthy, replica } = setup();
    await pool.scaleTo(2, 'test');
    [FIRST, FIRST + 1].forEach(healthy);
    rotation.eject(FIRST, false);
    pool.onReplicaFailed(FIRST, { kind: 'status', detail: 'answered 500', ejected: true });
    expect(replica(FIRST)).toMatchObject({ state: 'suspect', inRotation: false });
    expect(health.events).toContain(`recheck ${FIRST}`);
    healthy(FIRST);
    expect(replica(FIRST)).toMatchObject({ state: 'running', inRotation: true, restarts: 0 });
  });

  test('passive health: a failure the proxy did not eject for (the last replica) changes nothing', async () => {
    const { pool, health, healthy, replica } = setup();
    await pool.scaleTo(1, 'test');
    healthy(FIRST);
    pool.onReplicaFailed(FIRST, { kind: 'status', detail: 'answered 500', ejected: false });
    expect(replica(FIRST)).toMatchObject({ state: 'running', inRotation: true });
    expect(health.events).not.toContain(`recheck ${FIRST}`);
  });
});
