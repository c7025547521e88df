/**
 * Act ids are chosen by the client and must be unique across all acts. The page uses the
 * upload time in milliseconds followed by 11 random bits: two uploads clash only when they
 * fall in the same millisecond and draw the same 1-in-2048 number. The result stays a safe
 * integer until the year 2109.
 */

export const ACT_ID_RANDOM_BITS = 11;
const RANDOM_RANGE = 2 ** ACT_ID_RANDOM_BITS;

/** The id for an upload at `nowMs` with `random` in [0, 2048). */
export function composeActId(nowMs: number, random: number): number {
  const noise = Math.floor(Math.abs(random)) % RANDOM_RANGE;
  const id = Math.floor(nowMs) * RANDOM_RANGE + noise;
  // A wrong clock far in the future must still give a valid id, not an unsafe integer.
  if (Number.isSafeInteger(id) && id >= 0) return id;
  const wrapped = ((Math.floor(nowMs) % 2 ** 41) + 2 ** 41) % 2 ** 41;
  return wrapped * RANDOM_RANGE + noise;
}

/** A fresh id from the clock and the platform's cryptographic random source. */
export function newActId(now: () => number = Date.now): number {
  const random = new Uint16Array(1);
  crypto.getRandomValues(random);
  return composeActId(now(), random[0] ?? 0);
}
