import { backoffDelayMs, nextFailureStreak } from '../../orchestrator/backoff';

const policy = { initialMs: 1_000, maxMs: 30_000, stableMs: 30_000 };

describe('backoff', () => {
  test.each([
    [1, 0],
    [2, 1_000],
    [3, 2_000],
    [4, 4_000],
    [6, 16_000],
    [7, 30_000],
    [50, 30_000],
    [10_000, 30_000],
  ])('failure %i in a row waits %i ms', (streak, delay) => {
    expect(backoffDelayMs(streak, policy)).toBe(delay);
  });

  test.each([
    ['first failure ever', 0, undefined, 1],
    ['failed again without ever passing', 1, undefined, 2],
    ['failed soon after becoming healthy', 3, 5_000, 4],
    ['failed after a long healthy spell: a fresh streak', 5, 30_000, 1],
  ])('%s', (_name, previous, healthyFor, expected) => {
    expect(nextFailureStreak(previous, healthyFor, policy)).toBe(expected);
  });
});
