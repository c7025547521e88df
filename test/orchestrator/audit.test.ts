import { auditIntervalMs, startAudit } from '../../orchestrator/audit';
import type { ReplicaInfo } from '../../orchestrator/runtime';
import { keptLogger } from './parts';

describe('auditIntervalMs', () => {
  test.each([
    [500, undefined, 5_000],
    [2_000, undefined, 10_000],
    [2_000, 300, 300],
  ])('a health interval of %i ms (given: %s) audits every %i ms', (intervalMs, given, expected) => {
    expect(auditIntervalMs({ intervalMs }, given)).toBe(expected);
  });
});

describe('startAudit', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('every pool audits against one listing; a listing still running is not doubled; a failure is logged and the next runs', async () => {
    const listings: Array<{ resolve: (r: ReplicaInfo[]) => void; reject: (e: Error) => void }> = [];
    const runtime = {
      list: () => new Promise<ReplicaInfo[]>((resolve, reject) => listings.push({ resolve, reject })),
    };
    const audited: string[] = [];
    const pools = new Map([
      ['acts', { audit: async (listed: ReplicaInfo[]) => void audited.push(`acts ${listed.length}`) }],
      ['users', { audit: async (listed: ReplicaInfo[]) => void audited.push(`users ${listed.length}`) }],
    ]);
    const { logger, lines } = keptLogger();
    const stop = startAudit(runtime, pools, 1_000, logger);

    await jest.advanceTimersByTimeAsync(3_500);
    expect(listings).toHaveLength(1);
    listings[0]!.reject(new Error('engine went away'));
    await jest.advanceTimersByTimeAsync(1_000);
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'runtime audit failed', reason: 'engine went away' }),
    ]);
    expect(listings).toHaveLength(2);
    listings[1]!.resolve([]);
    await jest.advanceTimersByTimeAsync(0);
    expect(audited).toEqual(['acts 0', 'users 0']);

    stop();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(listings).toHaveLength(2);
  });
});
