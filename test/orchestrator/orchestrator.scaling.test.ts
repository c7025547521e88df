import {
  allInRotation,
  eventually,
  isListening,
  request,
  startTestOrchestrator,
  type TestOrchestrator,
} from './helpers';

jest.setTimeout(60_000);

/**
 * Counted requests sent together, so they all fall in the window the first one opens: sent one
 * after another, 20 took up to 2.2 s on a loaded machine (load 25 on 2 cores), most of a window.
 */
const sendAtOnce = (t: TestOrchestrator, count: number) =>
  Promise.all(Array.from({ length: count }, (_, i) => t.front('GET', `/api/v1/r${i}`)));

describe('orchestrator over real processes: auto-scaling and draining', () => {
  let t: TestOrchestrator | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  test('requests outside the counted set neither count nor open the first window', async () => {
    t = await startTestOrchestrator({}, { windowSeconds: 1, requestsPerReplica: 5 });
    await allInRotation(t, [t.firstPort]);
    for (let i = 0; i < 10; i++) {
      await t.front('GET', '/api/v1/_health');
      await t.front('GET', '/');
      await t.front('GET', '/index.html');
      await request(t.firstPort, 'GET', '/api/v1/direct');
    }
    // Longer than a window: with nothing counted no window may have run.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(t.pool().window).toMatchObject({ count: 0, windowsCompleted: 0 });
    expect(t.pool().window!.startedAt).toBeUndefined();
    expect(t.pool().replicas).toHaveLength(1);

    const before = Date.now();
    await t.front('GET', '/api/v1/first');
    const window = t.pool().window!;
    expect(window.count).toBe(1);
    expect(window.startedAt).toBeGreaterThanOrEqual(before);
    expect(window.endsAt! - window.startedAt!).toBe(1_000);
  });

  test('20 counted requests in a window bring a second replica on the next port; an empty window takes it away, keeping the first', async () => {
    t = await startTestOrchestrator({}, { windowSeconds: 3, requestsPerReplica: 20 });
    const [first] = (await allInRotation(t, [t.firstPort])).replicas;
    expect((await sendAtOnce(t, 20)).map((r) => r.status)).toEqual(Array(20).fill(200));
    const scaledUp = await eventually(() => {
      const pool = t!.pool();
      return pool.desiredReplicas === 2 && pool.replicas.length === 2 && pool;
    });
    expect(scaledUp.replicas.map((r) => r.port)).toEqual([t.firstPort, t.firstPort + 1]);
    expect(scaledUp.window!.lastWindowCount).toBe(20);
    // The next window has no requests: back to one, the highest port leaves.
    const scaledDown = await eventually(() => {
      const pool = t!.pool();
      return pool.window!.windowsCompleted >= 2 && pool.replicas.length === 1 && pool;
    });
    expect(scaledDown.desiredReplicas).toBe(1);
    expect(scaledDown.replicas[0]).toMatchObject({ port: t.firstPort, id: first!.id, restarts: 0 });
    expect(await isListening(t.firstPort + 1)).toBe(false);
    const removed = t.logs.find((l) => l.msg === 'replica removed');
    expect(removed).toMatchObject({ port: t.firstPort + 1, reason: 'scaled down' });
  });

  test('the replica count is capped at the pool maximum', async () => {
    t = await startTestOrchestrator({ maxReplicas: 3 }, { windowSeconds: 2, requestsPerReplica: 2 });
    await allInRotation(t, [t.firstPort]);
    await sendAtOnce(t, 30);
    const pool = await eventually(() => t!.pool().window!.windowsCompleted >= 1 && t!.pool());
    expect(pool.window!.lastWindowCount).toBe(30);
    expect(pool.desiredReplicas).toBe(3);
    expect(pool.replicas.map((r) => r.port)).toEqual([t.firstPort, t.firstPort + 1, t.firstPort + 2]);
  });

  test('a pool with autoscale off stays at its minimum whatever the traffic', async () => {
    t = await startTestOrchestrator(
      { minReplicas: 1, autoscale: false },
      { windowSeconds: 1, requestsPerReplica: 1 },
    );
    await allInRotation(t, [t.firstPort]);
    for (let i = 0; i < 10; i++) await t.front('GET', `/api/v1/r${i}`);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(t.pool().window).toBeNull();
    expect(t.pool().replicas).toHaveLength(1);
    expect(t.pool().countedRequests).toBe(10);
  });

  test('a replica leaving on scale-down is drained: its long in-flight request completes with 200', async () => {
    // The second replica starts when the first window ends and must be in rotation, with the
    // slow requests on it, before the next window ends empty and removes it again: one window
    // is its whole budget. A loaded machine (load 20 on 2 cores) took up to 3.8 s to boot one.
    const windowMs = 8_000;
    t = await startTestOrchestrator({}, { windowSeconds: windowMs / 1000, requestsPerReplica: 20 });
    await allInRotation(t, [t.firstPort]);
    await sendAtOnce(t, 20);
    await allInRotation(t, [t.firstPort, t.firstPort + 1]);
    // Two in rotation: two requests in a row land one on each. Each lasts a whole window, so
    // the window's end (with fewer than 20 requests: scale down) falls while they run.
    const slowly = () =>
      request(t!.orchestrator.frontDoorPort, 'GET', `/api/v1/slow?ms=${windowMs}`, '127.0.0.1', 20_000);
    const slow = [slowly(), slowly()];
    await eventually(() => t!.pool().replicas.find((r) => r.port === t!.firstPort + 1)?.state === 'draining');
    expect(t.pool().replicas.find((r) => r.port === t!.firstPort + 1)).toMatchObject({
      inRotation: false,
      inFlight: 1,
    });
    // A draining replica receives nothing new.
    expect((await t.front('GET', '/api/v1/meanwhile')).json()).toMatchObject({ port: t.firstPort });
    const replies = await Promise.all(slow);
    expect(replies.map((r) => r.status)).toEqual([200, 200]);
    expect(replies.map((r) => r.json<{ port: number }>().port).sort()).toEqual([
      t.firstPort,
      t.firstPort + 1,
    ]);
    await eventually(() => t!.pool().replicas.length === 1);
    expect(await isListening(t.firstPort + 1)).toBe(false);
    const states = t.logs
      .filter((l) => l.msg === 'replica state' && l.port === t!.firstPort + 1)
      .map((l) => l.to);
    expect(states.slice(-2)).toEqual(['draining', 'stopping']);
    expect(t.logs.find((l) => l.msg === 'replica state' && l.to === 'stopping')!.reason).toBe('drained');
  });
});
