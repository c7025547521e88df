/** Longest user or category name accepted: fits an indexed column on both engines. */
export const MAX_NAME_LENGTH = 255;

// With the `u` flag a surrogate pair is one code point, so this finds only lone halves,
// which no database stores faithfully.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Text that the database stores and gives back unchanged. */
export function isStorableText(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}

/** A user or category name: a non-empty string of storable text within the length limit. */
export function isValidName(value: unknown): value is string {
  return (
    typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME_LENGTH && isStorableText(value)
  );
}
