import { niceCeiling, pathData } from '../../web/dashboard/charts';
import { EventLog } from '../../web/dashboard/event-log';
import { formatDuration, shortId } from '../../web/dashboard/format';
import type { NumberedEvent } from '../../orchestrator/dashboard-feed';

const event = (seq: number): NumberedEvent => ({
  seq,
  time: '2026-01-01T00:00:00.000Z',
  kind: 'started',
  pool: 'acts',
  port: 8000,
  id: `pid:${seq}`,
  reason: '',
});

describe("the dashboard page's event log", () => {
  test('keeps each event once however often it arrives (stream and catch-up), newest first', () => {
    const log = new EventLog(100);
    expect(log.add([event(1), event(2)])).toBe(true);
    expect(log.add([event(2)])).toBe(false);
    expect(log.add([event(1), event(2), event(3)])).toBe(true);
    expect(log.newestFirst().map((e) => e.seq)).toEqual([3, 2, 1]);
  });

  test('keeps only the newest N, even when older ones arrive late', () => {
    const log = new EventLog(2);
    log.add([event(5), event(6)]);
    log.add([event(4)]);
    expect(log.newestFirst().map((e) => e.seq)).toEqual([6, 5]);
  });
});

describe('the chart geometry', () => {
  const box = { width: 600, height: 100, end: 10_000, spanMs: 10_000 };

  test.each([
    [0, 1],
    [1, 1],
    [3, 5],
    [7, 10],
    [12, 20],
    [99, 100],
    [101, 200],
  ])('the axis for a peak of %d goes up to %d', (max, top) => {
    expect(niceCeiling(max)).toBe(top);
  });

  test('maps time to x across the span and value to y from the bottom', () => {
    expect(
      pathData(
        [
          { t: 0, v: 0 },
          { t: 5_000, v: 5 },
          { t: 10_000, v: 10 },
        ],
        box,
        10,
      ),
    ).toBe('M0 100L300 50L600 0');
  });

  test('a stepped series moves across then up, as a count that jumps', () => {
    expect(
      pathData(
        [
          { t: 0, v: 1 },
          { t: 5_000, v: 2 },
        ],
        box,
        2,
        true,
      ),
    ).toBe('M0 50H300V0');
  });

  test('points older than the span are left out; no points draw nothing', () => {
    expect(pathData([{ t: -1, v: 3 }], box, 5)).toBe('');
    expect(pathData([], box, 5)).toBe('');
  });
});

describe('dashboard formats', () => {
  test.each([
    [950, '950 ms'],
    [12_400, '12 s'],
    [185_000, '3 min 05 s'],
    [7_440_000, '2 h 04 min'],
    [-5, '0 s'],
  ])('%d ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  test('a Docker id is shortened as docker ps does, a process id is not', () => {
    expect(shortId('a'.repeat(64))).toBe('a'.repeat(12));
    expect(shortId('pid:123')).toBe('pid:123');
    expect(shortId(null)).toBe('—');
  });
});
