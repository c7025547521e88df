/**
 * Desired count versus the replicas a pool has: which ports to start and which to stop.
 * Pure, so the rules are table-tested: the wanted set is always the contiguous range from
 * the first port, new replicas take the lowest missing ports, and leaving replicas go
 * highest port first.
 */
export interface ReconcilePlan {
  /** Ascending. */
  starts: number[];
  /** Descending: the highest port leaves first. */
  stops: number[];
}

export function wantedPorts(desired: number, firstPort: number): number[] {
  return Array.from({ length: Math.max(0, desired) }, (_, i) => firstPort + i);
}

export function planReconcile(
  desired: number,
  actualPorts: Iterable<number>,
  firstPort: number,
): ReconcilePlan {
  const wanted = new Set(wantedPorts(desired, firstPort));
  const actual = new Set(actualPorts);
  const starts = [...wanted].filter((p) => !actual.has(p)).sort((a, b) => a - b);
  const stops = [...actual].filter((p) => !wanted.has(p)).sort((a, b) => b - a);
  return { starts, stops };
}
