/** Image bytes as the API carries them (standard base64), their type, and what an upload weighs. */

export type ImageMime = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUE = new Map([...BASE64_ALPHABET].map((ch, i) => [ch, i]));

/** Decodes the first bytes of a base64 string (enough to sniff a type); null when that prefix is not base64. */
export function decodeBase64Prefix(b64: string, byteCount: number): Uint8Array | null {
  const chars = b64.slice(0, Math.ceil(byteCount / 3) * 4);
  const out: number[] = [];
  let bits = 0;
  let buffer = 0;
  for (const ch of chars) {
    if (ch === '=') break;
    const value = BASE64_VALUE.get(ch);
    if (value === undefined) return null;
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out.slice(0, byteCount));
}

function startsWith(bytes: Uint8Array, signature: readonly number[], offset = 0): boolean {
  return signature.every((byte, i) => bytes[offset + i] === byte);
}

const ascii = (text: string): number[] => [...text].map((ch) => ch.charCodeAt(0));

/** The image type its magic bytes announce, or null when they are none of PNG, JPEG, GIF, WebP. */
export function sniffImageMime(bytes: Uint8Array): ImageMime | null {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return 'image/gif';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'image/webp';
  return null;
}

/** A `data:` URL showing an act's photo, or null when its bytes are not an image the page knows. */
export function imageDataUrl(imgB64: string): string | null {
  const head = decodeBase64Prefix(imgB64, 12);
  const mime = head && sniffImageMime(head);
  return mime ? `data:${mime};base64,${imgB64}` : null;
}

/** Length of the standard (padded) base64 text of `byteCount` bytes. */
export function base64Length(byteCount: number): number {
  return Math.ceil(byteCount / 3) * 4;
}

export interface ActFields {
  actId: number;
  username: string;
  timestamp: string;
  caption: string;
  categoryName: string;
}

/** Exact size in bytes of the JSON upload body for these fields and an image of `imageBytes` bytes. */
export function uploadBodyBytes(fields: ActFields, imageBytes: number): number {
  const withoutImage = JSON.stringify({ ...fields, imgB64: '' });
  return new TextEncoder().encode(withoutImage).length + base64Length(imageBytes);
}

/** The largest image whose upload body fits in `bodyLimit` bytes along with these fields. */
export function largestImageBytes(fields: ActFields, bodyLimit: number): number {
  const room = bodyLimit - uploadBodyBytes(fields, 0);
  return room < 4 ? 0 : Math.floor(room / 4) * 3;
}

/** A size as people read it: "820 bytes", "14.2 KB", "3.4 MB" (powers of 1024, as the server counts). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return bytes === 1 ? '1 byte' : `${bytes} bytes`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
