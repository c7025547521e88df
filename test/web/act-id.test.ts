import { ACT_ID_RANDOM_BITS, composeActId, newActId } from '../../web/src/pure/act-id';

describe('act ids', () => {
  const now = Date.UTC(2025, 5, 1, 12, 0, 0);

  test('are non-negative safe integers, ordered by time, distinct per random draw', () => {
    const a = composeActId(now, 0);
    const b = composeActId(now, 2047);
    const c = composeActId(now + 1, 0);
    for (const id of [a, b, c]) {
      expect(Number.isSafeInteger(id)).toBe(true);
      expect(id).toBeGreaterThanOrEqual(0);
    }
    expect(a).toBeLessThan(b);
    expect(b).toBeLessThan(c);
    expect(
      new Set(Array.from({ length: 2 ** ACT_ID_RANDOM_BITS }, (_, r) => composeActId(now, r))).size,
    ).toBe(2048);
  });

  test('stay safe integers until 2109, and even with a clock far off', () => {
    expect(Number.isSafeInteger(composeActId(Date.UTC(2109, 0, 1), 2047))).toBe(true);
    for (const clock of [Date.UTC(2300, 0, 1), -5, Number.MAX_SAFE_INTEGER]) {
      const id = composeActId(clock, 5);
      expect(Number.isSafeInteger(id)).toBe(true);
      expect(id).toBeGreaterThanOrEqual(0);
    }
  });

  test('ids drawn in the same millisecond keep its time and differ by their random part', () => {
    const sample = Array.from({ length: 200 }, () => newActId(() => now));
    expect(sample.every((id) => Math.floor(id / 2048) === now)).toBe(true);
    // 200 draws from 2048 values give about 190 distinct ones; fewer than 150 means no randomness.
    expect(new Set(sample).size).toBeGreaterThan(150);
    const spread = Array.from({ length: 1000 }, (_, i) => newActId(() => now + i));
    expect(new Set(spread).size).toBe(1000);
  });
});
