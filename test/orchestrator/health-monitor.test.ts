import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  HealthMonitor,
  type HealthMonitorOptions,
  judgeProbe,
  type ProbeOutcome,
  type ProbeState,
  type ReportedHealth,
  STARTUP_PROBE_MS,
  UNAVAILABLE_LIMIT_MS,
} from '../../orchestrator/health-monitor';
import { freePort } from '../support/requirements';
import { FakeClock } from './fake-clock';

const rules = { failureThreshold: 3, startupGraceMs: 10_000 };
const fresh: ProbeState = {
  healthy: undefined,
  passedOnce: false,
  consecutiveFailures: 0,
  watchedSinceMs: 0,
};
const healthy: ProbeState = { healthy: true, passedOnce: true, consecutiveFailures: 0, watchedSinceMs: 0 };
const pass: ProbeOutcome = { kind: 'pass', status: 200 };
const refused: ProbeOutcome = { kind: 'failure', reason: 'ECONNREFUSED' };
const error500: ProbeOutcome = { kind: 'server-error', status: 500 };
const unavailable503: ProbeOutcome = { kind: 'server-error', status: 503 };

describe('judgeProbe', () => {
  test.each<[string, ProbeState, ProbeOutcome, number, ReportedHealth | undefined, number]>([
    ['first pass brings a fresh replica in', fresh, pass, 100, 'healthy', 0],
    ['a pass on a healthy replica changes nothing', healthy, pass, 100, undefined, 0],
    ['a 5xx is unhealthy at once, even in grace', fresh, error500, 100, 'unhealthy', 1],
    ['a 5xx on a healthy replica is unhealthy at once', healthy, error500, 100, 'unhealthy', 1],
    ['refused during the start-up grace is not counted', fresh, refused, 9_999, undefined, 0],
    ['refused after the grace counts one failure', fresh, refused, 10_000, undefined, 1],
    [
      'the third failure in a row after the grace is unhealthy',
      { ...fresh, consecutiveFailures: 2 },
      refused,
      20_000,
      'unhealthy',
      3,
    ],
    ['a healthy replica has no grace: failures count at once', healthy, refused, 100, undefined, 1],
    [
      'a healthy replica failing three times is unhealthy',
      { ...healthy, consecutiveFailures: 2 },
      refused,
      100,
      'unhealthy',
      3,
    ],
    ['a pass resets the failure count', { ...healthy, consecutiveFailures: 2 }, pass, 100, undefined, 0],
  ])('%s', (_name, state, outcome, now, change, failures) => {
    const verdict = judgeProbe(state, outcome, now, rules);
    expect(verdict.change?.health).toBe(change);
    expect(verdict.state.consecutiveFailures).toBe(failures);
  });

  test.each<[string, ProbeState, ProbeOutcome, number, ReportedHealth | undefined, number | undefined]>([
    [
      'one 503 on a healthy replica (a slow database check) leaves it in rotation, counting from then',
      healthy,
      unavailable503,
      100,
      undefined,
      100,
    ],
    [
      'the third 503 in a row on a healthy replica is unavailable, not unhealthy',
      { ...healthy, unavailableSinceMs: 100, consecutiveUnavailable: 2 },
      unavailable503,
      2_100,
      'unavailable',
      100,
    ],
    [
      'a pass between 503s starts the count again',
      { ...healthy, unavailableSinceMs: 100, consecutiveUnavailable: 2 },
      pass,
      2_100,
      undefined,
      undefined,
    ],
    [
      'a 503 on a fresh replica is unavailable, even in grace',
      fresh,
      unavailable503,
      100,
      'unavailable',
      100,
    ],
    [
      'a 503 that goes on is not reported again, and keeps when it began',
      { ...healthy, healthy: false, unavailableSinceMs: 100 },
      unavailable503,
      60_000,
      undefined,
      100,
    ],
    [
      'a 503 that lasted the limit is unhealthy: replaced after all',
      { ...healthy, healthy: false, unavailableSinceMs: 100 },
      unavailable503,
      120_100,
      'unhealthy',
      undefined,
    ],
    [
      'a 500 after 503s is unhealthy at once',
      { ...healthy, healthy: false, unavailableSinceMs: 100 },
      error500,
      200,
      'unhealthy',
      undefined,
    ],
    [
      'a replica that stops answering while unavailable is unhealthy after the threshold',
      { ...healthy, healthy: false, consecutiveFailures: 2, unavailableSinceMs: 100 },
      refused,
      200,
      'unhealthy',
      undefined,
    ],
    [
      'a pass ends the unavailability',
      { ...healthy, healthy: false, unavailableSinceMs: 100 },
      pass,
      200,
      'healthy',
      undefined,
    ],
    [
      'a replica already reported unhealthy stays so on a 503',
      { ...healthy, healthy: false, consecutiveFailures: 1 },
      unavailable503,
      200,
      undefined,
      undefined,
    ],
    [
      'after a recheck a 503 is reported again with the original start',
      { ...healthy, healthy: undefined, unavailableSinceMs: 100 },
      unavailable503,
      200,
      'unavailable',
      100,
    ],
  ])('%s', (_name, state, outcome, now, change, since) => {
    const verdict = judgeProbe(state, outcome, now, { ...rules, unavailableLimitMs: 120_000 });
    expect(verdict.change?.health).toBe(change);
    expect(verdict.state.unavailableSinceMs).toBe(since);
  });

  test('the limit on answering 503 defaults to UNAVAILABLE_LIMIT_MS', () => {
    const since: ProbeState = { ...healthy, healthy: false, unavailableSinceMs: 0 };
    expect(judgeProbe(since, unavailable503, UNAVAILABLE_LIMIT_MS - 1, rules).change).toBeUndefined();
    expect(judgeProbe(since, unavailable503, UNAVAILABLE_LIMIT_MS, rules).change?.health).toBe('unhealthy');
  });

  test('an unhealthy replica is reported once, not on every failed probe', () => {
    const unhealthy: ProbeState = { ...healthy, healthy: false, consecutiveFailures: 3 };
    expect(judgeProbe(unhealthy, refused, 100, rules).change).toBeUndefined();
    expect(judgeProbe(unhealthy, error500, 100, rules).change).toBeUndefined();
  });
});

describe('HealthMonitor against real sockets', () => {
  type Mode = 'ok' | 'fail' | 'hang';
  let mode: Mode = 'ok';
  let inFlight = 0;
  let maxInFlight = 0;
  let probes = 0;
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      probes++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.on('close', () => inFlight--);
      expect(req.url).toBe('/api/v1/_health');
      if (mode === 'hang') return;
      res.writeHead(mode === 'ok' ? 200 : 500).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    mode = 'ok';
    probes = 0;
    maxInFlight = 0;
  });

  function monitorWith(
    events: Array<[number, ReportedHealth, string]>,
    overrides: Partial<ConstructorParameters<typeof HealthMonitor>[0]> = {},
  ) {
    return new HealthMonitor({
      // Generous timeouts: a loaded machine must not turn a passing probe into a timeout.
      intervalMs: 200,
      timeoutMs: 190,
      failureThreshold: 2,
      startupGraceMs: 0,
      onHealthChange: (p, h, r) => events.push([p, h, r]),
      ...overrides,
    });
  }

  async function until(check: () => boolean): Promise<void> {
    while (!check()) await new Promise((r) => setTimeout(r, 10));
  }

  test('a passing replica is reported healthy once, then only probed', async () => {
    const events: Array<[number, ReportedHealth, string]> = [];
    const monitor = monitorWith(events);
    monitor.watch(port);
    await until(() => probes >= 3);
    monitor.stop();
    expect(events).toEqual([[port, 'healthy', expect.stringContaining('passed')]]);
  });

  test('a 5xx after being healthy is reported unhealthy with its status', async () => {
    const events: Array<[number, ReportedHealth, string]> = [];
    const monitor = monitorWith(events);
    monitor.watch(port);
    await until(() => events.length === 1);
    mode = 'fail';
    await until(() => events.length === 2);
    monitor.stop();
    expect(events[1]).toEqual([port, 'unhealthy', expect.stringContaining('500')]);
  });

  test('a replica that hangs is unhealthy after the threshold, with never two probes in flight', async () => {
    mode = 'hang';
    const events: Array<[number, ReportedHealth, string]> = [];
    // Probing faster than the timeout: overlapping probes would show up as in-flight > 1.
    const monitor = monitorWith(events, { intervalMs: 30, timeoutMs: 25, startupProbeMs: 5 });
    monitor.watch(port);
    await until(() => events.length === 1);
    monitor.stop();
    expect(events[0]).toEqual([port, 'unhealthy', expect.stringContaining('2 health probes failed')]);
    expect(maxInFlight).toBe(1);
  });

  test('a port nobody listens on is unhealthy after the threshold once the grace is over', async () => {
    const closed = await freePort();
    const events: Array<[number, ReportedHealth, string]> = [];
    const monitor = monitorWith(events, { startupGraceMs: 200 });
    const watchedAt = Date.now();
    monitor.watch(closed);
    await until(() => events.length === 1);
    monitor.stop();
    expect(Date.now() - watchedAt).toBeGreaterThanOrEqual(200);
    expect(events[0]).toEqual([closed, 'unhealthy', expect.stringContaining('ECONNREFUSED')]);
  });

  test('unwatched ports are no longer probed or reported', async () => {
    const events: Array<[number, ReportedHealth, string]> = [];
    const monitor = monitorWith(events);
    monitor.watch(port);
    await until(() => events.length === 1);
    monitor.unwatch(port);
    const seen = probes;
    mode = 'fail';
    await new Promise((r) => setTimeout(r, 500));
    monitor.stop();
    expect(probes).toBeLessThanOrEqual(seen + 1);
    expect(events).toHaveLength(1);
  });

  test('recheck makes the next passing probe report healthy again', async () => {
    const events: Array<[number, ReportedHealth, string]> = [];
    const monitor = monitorWith(events);
    monitor.watch(port);
    await until(() => events.length === 1);
    monitor.recheck(port);
    await until(() => events.length === 2);
    monitor.stop();
    expect(events).toEqual([
      [port, 'healthy', expect.any(String)],
      [port, 'healthy', expect.any(String)],
    ]);
  });
});

/** A monitor on a manual clock whose probes answer `outcomes` in turn (then pass), noting when. */
function manualMonitor(
  clock: FakeClock,
  outcomes: ProbeOutcome[],
  options: Partial<HealthMonitorOptions> = {},
) {
  const probedAt: number[] = [];
  const changes: Array<[number, ReportedHealth]> = [];
  const monitor = new HealthMonitor({
    intervalMs: 1_000,
    timeoutMs: 500,
    failureThreshold: 3,
    startupGraceMs: 15_000,
    timers: clock,
    onHealthChange: (port, health) => changes.push([port, health]),
    probe: async () => {
      probedAt.push(clock.now());
      return outcomes.shift() ?? pass;
    },
    ...options,
  });
  return { clock, monitor, probedAt, changes };
}
const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

describe('HealthMonitor timing on a manual clock', () => {
  const monitorWith = (outcomes: ProbeOutcome[]) =>
    manualMonitor(new FakeClock(0), outcomes, { startupGraceMs: 0, startupProbeMs: 100 });

  test('probes at once on watch, then once per interval once the replica has passed', async () => {
    const { clock, monitor, probedAt, changes } = monitorWith([pass]);
    monitor.watch(7000);
    await flush();
    expect(changes).toEqual([[7000, 'healthy']]);
    for (let i = 0; i < 30; i++) {
      clock.advance(100);
      await flush();
    }
    expect(probedAt).toEqual([0, 1_000, 2_000, 3_000]);
    monitor.stop();
  });

  test('recheck probes at once, between ticks, and reports the verdict again', async () => {
    const { clock, monitor, probedAt, changes } = monitorWith([pass, error500, pass]);
    monitor.watch(7000);
    await flush();
    clock.advance(300);
    monitor.recheck(7000);
    await flush();
    expect(probedAt).toEqual([0, 300]);
    expect(changes).toEqual([
      [7000, 'healthy'],
      [7000, 'unhealthy'],
    ]);
    monitor.recheck(7000);
    await flush();
    expect(changes[2]).toEqual([7000, 'healthy']);
    monitor.stop();
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('HealthMonitor pace: quick while a replica starts, once per interval after', () => {
  /** A fake clock that counts the monitor's wake-ups. */
  class CountingClock extends FakeClock {
    wakeUps = 0;
    override setTimeout(fn: () => void, ms: number): unknown {
      return super.setTimeout(() => {
        this.wakeUps++;
        fn();
      }, ms);
    }
  }
  test('a starting replica is probed every STARTUP_PROBE_MS until it passes, then once per interval', async () => {
    const clock = new CountingClock(0);
    const { monitor, probedAt, changes } = manualMonitor(clock, [refused, refused, refused, pass]);
    monitor.watch(7000);
    await flush();
    // Time moves in 1 ms steps, as finely as a real timer could fire.
    for (let t = 0; t < 5_000; t++) {
      clock.advance(1);
      await flush();
    }
    monitor.stop();
    const s = STARTUP_PROBE_MS;
    expect(probedAt).toEqual([
      0,
      s,
      2 * s,
      3 * s,
      3 * s + 1_000,
      3 * s + 2_000,
      3 * s + 3_000,
      3 * s + 4_000,
    ]);
    expect(changes).toEqual([[7000, 'healthy']]);
    // One wake-up per probe after the first: no timer ticks at the startup pace once it is in.
    expect(clock.wakeUps).toBe(probedAt.length - 1);
    expect(clock.pendingTimers).toBe(0);
  });

  test('no wake-ups while the only probe is in flight; its answer sets the next one', async () => {
    const clock = new CountingClock(0);
    let answer: (outcome: ProbeOutcome) => void = () => undefined;
    const { monitor } = manualMonitor(clock, [], {
      probe: () => new Promise<ProbeOutcome>((resolve) => (answer = resolve)),
    });
    monitor.watch(7000);
    await flush();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(400);
    answer(pass);
    await flush();
    // The interval counts from the probe's start (t = 0), as a probe's latency does not delay the next.
    expect(clock.pendingTimers).toBe(1);
    clock.advance(599);
    expect(clock.wakeUps).toBe(0);
    clock.advance(1);
    expect(clock.wakeUps).toBe(1);
    monitor.stop();
  });
});
