/**
 * The geometry of the small time charts: sampled values over a fixed span, as SVG path data
 * in a width × height box. Pure, so the scaling is unit-tested; the page only draws it.
 */
export interface Point {
  t: number;
  v: number;
}

export interface ChartBox {
  width: number;
  height: number;
  /** Epoch ms at the right edge. */
  end: number;
  spanMs: number;
}

/** A round upper bound for the axis: 1, 2, 5, 10, 20, 50, ... at least `max`. */
export function niceCeiling(max: number): number {
  if (!(max > 1)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= max) return step * magnitude;
  return 10 * magnitude;
}

const round = (n: number) => Math.round(n * 10) / 10;

/**
 * Path data for `points` (oldest first), `stepped` for counts that jump (replicas) rather
 * than rates. Points before the span are left out; an empty series gives ''.
 */
export function pathData(points: readonly Point[], box: ChartBox, top: number, stepped = false): string {
  const start = box.end - box.spanMs;
  const x = (t: number) => round(((t - start) / box.spanMs) * box.width);
  const y = (v: number) => round(box.height - (Math.min(v, top) / top) * box.height);
  const inside = points.filter((p) => p.t >= start && p.t <= box.end);
  let d = '';
  let previousY: number | undefined;
  for (const p of inside) {
    const px = x(p.t);
    const py = y(p.v);
    if (previousY === undefined) d += `M${px} ${py}`;
    else if (stepped) d += `H${px}V${py}`;
    else d += `L${px} ${py}`;
    previousY = py;
  }
  return d;
}
