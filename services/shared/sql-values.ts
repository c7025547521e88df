/** Names live in VARBINARY columns on MySQL (exact comparison), so they come back as bytes. */
export function asText(value: string | Buffer | Uint8Array): string {
  return typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
}

/** COUNT(*) and BIGINT come back as numbers, bigints or strings depending on the driver. */
export function asNumber(value: unknown): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`expected a number from the database, got ${typeof value}`);
  return n;
}
