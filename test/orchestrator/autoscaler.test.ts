import { ScalingWindow, desiredReplicas } from '../../orchestrator/autoscaler';
import { FakeClock } from './fake-clock';

const spec = { requestsPerReplica: 20, minReplicas: 1, maxReplicas: 10 };

describe('desiredReplicas', () => {
  test.each([
    [0, spec, 1],
    [19, spec, 1],
    [20, spec, 2],
    [39, spec, 2],
    [40, spec, 3],
    [199, spec, 10],
    [200, spec, 10],
    [5000, spec, 10],
    [0, { ...spec, minReplicas: 2 }, 2],
    [45, { ...spec, maxReplicas: 2 }, 2],
    [10, { ...spec, requestsPerReplica: 5 }, 3],
  ])('%i requests with %o → %i replicas', (count, policy, expected) => {
    expect(desiredReplicas(count, policy)).toBe(expected);
  });
});

describe('ScalingWindow', () => {
  function setup(windowMs = 120_000) {
    const clock = new FakeClock();
    const ended: Array<{ count: number; at: number }> = [];
    const window = new ScalingWindow({
      windowMs,
      timers: clock,
      onWindowEnd: (count) => ended.push({ count, at: clock.now() }),
    });
    return { clock, ended, window };
  }

  test('no window runs before the first counted request, however long the wait', () => {
    const { clock, ended, window } = setup();
    clock.advance(10 * 120_000);
    expect(ended).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
    expect(window.snapshot()).toEqual({ count: 0, windowsCompleted: 0 });
  });

  test('the first window starts at the first counted request and ends one window later', () => {
    const { clock, ended, window } = setup();
    clock.advance(5_000);
    const firstAt = clock.now();
    for (let i = 0; i < 25; i++) window.record();
    expect(window.snapshot()).toMatchObject({ count: 25, startedAt: firstAt, endsAt: firstAt + 120_000 });
    clock.advance(119_999);
    expect(ended).toEqual([]);
    clock.advance(1);
    expect(ended).toEqual([{ count: 25, at: firstAt + 120_000 }]);
  });

  test('windows then run back to back, each counting from zero, an empty one reporting 0', () => {
    const { clock, ended, window } = setup(1_000);
    window.record();
    const start = clock.now();
    clock.advance(500);
    window.record();
    clock.advance(500);
    for (let i = 0; i < 3; i++) window.record();
    clock.advance(1_000);
    clock.advance(1_000);
    expect(ended).toEqual([
      { count: 2, at: start + 1_000 },
      { count: 3, at: start + 2_000 },
      { count: 0, at: start + 3_000 },
    ]);
    expect(window.snapshot()).toMatchObject({
      count: 0,
      startedAt: start + 3_000,
      windowsCompleted: 3,
      lastWindowCount: 0,
    });
  });

  test('a request at the exact end belongs to the next window', () => {
    const { clock, ended, window } = setup(1_000);
    window.record();
    clock.advance(1_000);
    window.record();
    clock.advance(1_000);
    expect(ended.map((e) => e.count)).toEqual([1, 1]);
  });

  test('stop cancels the timer and ignores later requests', () => {
    const { clock, ended, window } = setup(1_000);
    window.record();
    window.stop();
    window.record();
    clock.advance(5_000);
    expect(ended).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });
});
