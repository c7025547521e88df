import { createScalingWindows } from '../../orchestrator/scaling-windows';
import { FakeClock } from './fake-clock';
import { keptLogger, twoPoolConfig } from './parts';

function setUp() {
  const clock = new FakeClock();
  const scaled: Array<[string, number, string]> = [];
  const poolNamed = (name: string) => ({
    scaleTo: async (desired: number, reason: string) => void scaled.push([name, desired, reason]),
  });
  const pools = new Map([
    ['acts', poolNamed('acts')],
    ['users', poolNamed('users')],
  ]);
  const { logger, lines } = keptLogger();
  const windows = createScalingWindows(twoPoolConfig(), pools, logger, clock);
  return { clock, scaled, windows, lines };
}

describe('createScalingWindows', () => {
  test('only pools with autoscale on get a window', () => {
    expect([...setUp().windows.keys()]).toEqual(['acts']);
  });

  test.each([
    [0, 1],
    [19, 1],
    [20, 2],
    [45, 3],
    [500, 3],
  ])('a window ending with %i counted requests scales the pool to %i', (count, desired) => {
    const { clock, scaled, windows, lines } = setUp();
    for (let i = 0; i < count; i++) windows.get('acts')!.record();
    if (count === 0) windows.get('acts')!.record(); // opens the window; the next one is then empty
    clock.advance(count === 0 ? 20_000 : 10_000);
    expect(scaled.at(-1)).toEqual(['acts', desired, `window ended with ${count} counted requests`]);
    expect(lines.at(-1)).toMatchObject({ msg: 'scaling window ended', pool: 'acts', count, desired });
  });

  test('nothing is scaled before a window has ended, nor after the windows stop', () => {
    const { clock, scaled, windows } = setUp();
    windows.get('acts')!.record();
    clock.advance(9_999);
    expect(scaled).toEqual([]);
    windows.get('acts')!.stop();
    clock.advance(60_000);
    expect(scaled).toEqual([]);
  });
});
