/**
 * The benchmarks' goals, reported the same way everywhere: one line per goal that starts with
 * `goal:`, says the figure and whether it is met or by how much it is missed, and, when
 * missed, what the same run measured that explains the rest. `npm run bench` repeats these
 * lines at the end, so the whole verdict reads in one place.
 */
export const GOAL_PREFIX = 'goal: ';

export interface Goal {
  /** What is measured, e.g. "Docker replacement → healthy". */
  what: string;
  /** Whether the figure must reach the limit from below (`at least`) or stay under it (`at most`). */
  kind: 'at least' | 'at most';
  limit: number;
  /** Appended to every number: " ms", " MB", "×", or "" for a plain ratio. */
  unit: string;
}

function format(value: number, unit: string): string {
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)}${unit}`;
}

/** The line for `goal` at `value`; `why` is said only when the goal is missed. */
export function goalLine(goal: Goal, value: number, why?: string): string {
  const met = goal.kind === 'at least' ? value >= goal.limit : value <= goal.limit;
  const head = `${GOAL_PREFIX}${goal.what} ${goal.kind} ${format(goal.limit, goal.unit)}: ${format(value, goal.unit)}`;
  if (met) return `${head}, met`;
  const missed = `${head}, missed by ${format(Math.abs(value - goal.limit), goal.unit)}`;
  return why ? `${missed}; ${why}` : missed;
}

export function reportGoal(goal: Goal, value: number, why?: string): void {
  console.log(goalLine(goal, value, why));
}
