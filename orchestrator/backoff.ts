/**
 * Restart pacing for a replica that keeps failing: the first failure is replaced at once
 * (a crash must be healed in about two seconds), further failures in a row wait twice as
 * long each time, up to a cap, so a broken image never spins in a tight loop.
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** A replica healthy at least this long before failing starts a fresh streak. */
  stableMs: number;
}

/** Failures in a row, counting the one that just happened. */
export function nextFailureStreak(
  previousStreak: number,
  healthyForMs: number | undefined,
  policy: BackoffPolicy,
): number {
  if (healthyForMs !== undefined && healthyForMs >= policy.stableMs) return 1;
  return previousStreak + 1;
}

/** How long to wait before starting the replacement after the `streak`-th failure in a row. */
export function backoffDelayMs(streak: number, policy: BackoffPolicy): number {
  if (streak <= 1) return 0;
  // 2 ** 30 is far past any sane cap; clamping the exponent keeps the arithmetic finite.
  const exponent = Math.min(streak - 2, 30);
  return Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
}
