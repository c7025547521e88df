/** How the dashboard writes times, durations and replica ids; pure, so it is unit-tested. */

/** `950 ms`, `12 s`, `3 min 05 s`, `2 h 04 min`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '0 s';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** A Docker id as `docker ps` shows it (12 characters); `pid:<n>` as it is. */
export function shortId(id: string | null): string {
  if (id === null) return '—';
  return /^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id;
}

/** `14:03:27` in the viewer's time zone. */
export function clockTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}
