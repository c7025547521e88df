/** Pages of acts over the API's inclusive, 1-based range (`?start=&end=`, 1 = newest). */

export const PAGE_SIZE = 20;

export function pageCount(total: number, pageSize = PAGE_SIZE): number {
  return Math.max(1, Math.ceil(total / pageSize));
}

/** The range of page `page` (1-based), or null when the category has no acts. Pages past the end show the last one. */
export function pageRange(
  page: number,
  total: number,
  pageSize = PAGE_SIZE,
): { start: number; end: number } | null {
  if (total < 1) return null;
  const last = pageCount(total, pageSize);
  const current = Math.min(Math.max(1, Math.floor(page) || 1), last);
  const start = (current - 1) * pageSize + 1;
  return { start, end: Math.min(current * pageSize, total) };
}
