/**
 * The API's act timestamp: `DD-MM-YYYY:SS-MM-HH` (seconds-minutes-hours, in that order),
 * a wall-clock time without a zone. The page writes and reads it in the viewer's local time.
 */

const TIMESTAMP = /^(\d{2})-(\d{2})-(\d{4}):(\d{2})-(\d{2})-(\d{2})$/;

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** The API string for a local date-time, e.g. 3:23:45 on 10 Oct 2019 → `10-10-2019:45-23-03`. */
export function formatApiTimestamp(date: Date): string {
  const year = String(date.getFullYear()).padStart(4, '0');
  return (
    `${pad2(date.getDate())}-${pad2(date.getMonth() + 1)}-${year}:` +
    `${pad2(date.getSeconds())}-${pad2(date.getMinutes())}-${pad2(date.getHours())}`
  );
}

/** The local date-time an API timestamp names, or null when it is malformed or not a real date-time. */
export function parseApiTimestamp(text: string): Date | null {
  const match = TIMESTAMP.exec(text);
  if (!match) return null;
  const [day, month, year, seconds, minutes, hours] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || hours > 23 || minutes > 59 || seconds > 59) return null;
  const date = new Date(year, month - 1, day, hours, minutes, seconds);
  // new Date rolls 31 February over into March; a real date keeps its own day and month.
  date.setFullYear(year);
  if (date.getDate() !== day || date.getMonth() !== month - 1) return null;
  return date;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function sameLocalDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

function clockTime(date: Date, locale?: string): string {
  return date.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' });
}

/**
 * How long ago `date` was, as a reader would say it: "just now", "5 minutes ago",
 * "today at 14:05", "yesterday at 09:30", else the date ("10 Oct 2019, 03:23").
 */
export function describeTime(date: Date, now: Date, locale?: string): string {
  const elapsed = now.getTime() - date.getTime();
  if (elapsed >= 0 && elapsed < MINUTE) return 'just now';
  if (elapsed >= MINUTE && elapsed < HOUR) {
    const minutes = Math.floor(elapsed / MINUTE);
    return minutes === 1 ? '1 minute ago' : `${minutes} minutes ago`;
  }
  if (elapsed >= 0 && sameLocalDay(date, now)) return `today at ${clockTime(date, locale)}`;
  const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
  if (elapsed > 0 && sameLocalDay(date, yesterday)) return `yesterday at ${clockTime(date, locale)}`;
  return date.toLocaleString(locale, {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
}

/** The text shown for an act's timestamp; a malformed one is shown as it came. */
export function describeApiTimestamp(text: string, now: Date, locale?: string): string {
  const date = parseApiTimestamp(text);
  return date ? describeTime(date, now, locale) : text;
}
