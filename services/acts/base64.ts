/**
 * Strict standard base64: alphabet A-Za-z0-9+/, length a multiple of 4, `=` only as one or
 * two trailing pad characters, non-empty, and canonical (the bits a pad leaves over are
 * zero). Canonical input is exactly what re-encoding the stored bytes gives back, so
 * listings return the uploaded string unchanged. Node's own decoder skips bad characters,
 * hence the check before it.
 */
const SHAPE = /^[A-Za-z0-9+/]*={0,2}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function isStrictBase64(value: string): boolean {
  if (value.length === 0 || value.length % 4 !== 0 || !SHAPE.test(value)) return false;
  if (value.endsWith('==')) return (ALPHABET.indexOf(value[value.length - 3]!) & 0x0f) === 0;
  if (value.endsWith('=')) return (ALPHABET.indexOf(value[value.length - 2]!) & 0x03) === 0;
  return true;
}
