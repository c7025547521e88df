import { stopInOrder } from '../../orchestrator/shutdown';
import { keptLogger } from './parts';

describe('stopInOrder', () => {
  test('nothing new starts, the front door finishes its requests, and only then do the pools let go; the runtime goes last', async () => {
    const steps: string[] = [];
    const step = (name: string) => () => void steps.push(name);
    const later = (name: string) => async () => {
      await new Promise((r) => setImmediate(r));
      steps.push(name);
    };
    const { logger, lines } = keptLogger();
    await stopInOrder(
      {
        stopAudit: step('audit stopped'),
        windows: new Map([['acts', { stop: step('window stopped') }]]),
        feed: { stop: step('feed stopped') },
        frontDoor: { close: later('front door closed') },
        admin: { close: later('admin closed') },
        pools: new Map([
          [
            'acts',
            {
              shutdown: async (teardown: boolean) => void steps.push(`acts shut down, teardown ${teardown}`),
            },
          ],
          [
            'users',
            {
              shutdown: async (teardown: boolean) => void steps.push(`users shut down, teardown ${teardown}`),
            },
          ],
        ]),
        monitor: { stop: step('monitor stopped') },
        unsubscribeExits: step('exits unsubscribed'),
        runtime: { close: later('runtime closed') },
      },
      true,
      logger,
    );
    expect(steps).toEqual([
      'audit stopped',
      'window stopped',
      'feed stopped',
      'front door closed',
      'admin closed',
      'acts shut down, teardown true',
      'users shut down, teardown true',
      'monitor stopped',
      'exits unsubscribed',
      'runtime closed',
    ]);
    expect(lines.map((l) => [l.msg, l.teardown])).toEqual([
      ['stopping', true],
      ['stopped', true],
    ]);
  });
});
