/** Most acts one listing may return; more is 413. */
export const MAX_LISTING = 100;

export type ListingDecision =
  | { readonly status: 200; readonly offset: number; readonly limit: number }
  | { readonly status: 204 | 400 | 413; readonly reason: string };

export interface ListingRules {
  /** The recent-acts feed has no whole-listing form: it is always asked for a range. */
  readonly rangeRequired?: boolean;
}

/**
 * What a listing (`GET /categories/{name}/acts[?start&end]` and its kin) answers, in the
 * contract's order: no such category, empty, malformed or out-of-range positions, too many,
 * else the positions (1 = newest) as offset and limit.
 */
export function decideListing(
  actCount: number | undefined,
  start: unknown,
  end: unknown,
  rules: ListingRules = {},
): ListingDecision {
  if (actCount === undefined) return { status: 400, reason: 'no such category' };
  if (actCount === 0) return { status: 204, reason: 'listing is empty' };
  if (start === undefined && end === undefined) {
    if (rules.rangeRequired) return { status: 400, reason: 'start and end are required' };
    return actCount > MAX_LISTING
      ? { status: 413, reason: 'more than 100 acts; ask for a range' }
      : { status: 200, offset: 0, limit: actCount };
  }
  const first = parsePosition(start);
  const last = parsePosition(end);
  if (first === undefined || last === undefined)
    return { status: 400, reason: 'start and end must both be integers' };
  if (first < 1 || last > actCount || first > last) return { status: 400, reason: 'range outside 1..count' };
  const size = last - first + 1;
  if (size > MAX_LISTING) return { status: 413, reason: 'range longer than 100 acts' };
  return { status: 200, offset: first - 1, limit: size };
}

function parsePosition(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^[+-]?\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}
