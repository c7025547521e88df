/** String values at least this long may stay bytes instead of becoming JavaScript strings. */
export const LARGE_TEXT_BYTES = 64 * 1024;

const PAD = 0x3d; // '='

/** Values of each byte in the standard base64 alphabet, -1 for every other byte. */
const ALPHABET_VALUE = new Int8Array(256).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  .split('')
  .forEach((c, i) => (ALPHABET_VALUE[c.charCodeAt(0)] = i));

/**
 * A long JSON string value (printable ASCII, no escapes) kept as the request body's own bytes:
 * a photo's base64 text then never exists as a JavaScript string beside the body, and decodes
 * into the space it occupied, so an upload holds about one body's worth of memory, not four.
 */
export class LargeText {
  private consumed = false;

  constructor(private readonly bytes: Buffer) {}

  get length(): number {
    return this.bytes.length;
  }

  /** The text as a string, for values that turn out not to be photos. */
  toString(): string {
    this.assertIntact();
    return this.bytes.toString('latin1');
  }

  /**
   * Strict standard base64: alphabet A-Za-z0-9+/, length a multiple of 4, non-empty, `=` only
   * as one or two trailing pads, and canonical (the bits a pad leaves over are zero).
   */
  isStrictBase64(): boolean {
    this.assertIntact();
    const b = this.bytes;
    const n = b.length;
    if (n === 0 || n % 4 !== 0) return false;
    const pads = b[n - 1] === PAD ? (b[n - 2] === PAD ? 2 : 1) : 0;
    for (let i = 0; i < n - pads; i++) if (ALPHABET_VALUE[b[i]!]! < 0) return false;
    if (pads === 2) return (ALPHABET_VALUE[b[n - 3]!]! & 0x0f) === 0;
    if (pads === 1) return (ALPHABET_VALUE[b[n - 2]!]! & 0x03) === 0;
    return true;
  }

  /**
   * Decodes the (checked) base64 text into the same memory: each 4 characters become at most
   * 3 bytes written behind them, so the output never overtakes the input, and nothing else
   * is allocated (not even short strings, which would pile up as garbage). The text is gone
   * afterwards.
   */
  decodeBase64InPlace(): Buffer {
    this.assertIntact();
    this.consumed = true;
    const b = this.bytes;
    const n = b.length;
    const pads = n > 0 && b[n - 1] === PAD ? (b[n - 2] === PAD ? 2 : 1) : 0;
    const whole = n - (pads > 0 ? 4 : 0);
    let out = 0;
    for (let i = 0; i < whole; i += 4) {
      const v =
        (ALPHABET_VALUE[b[i]!]! << 18) |
        (ALPHABET_VALUE[b[i + 1]!]! << 12) |
        (ALPHABET_VALUE[b[i + 2]!]! << 6) |
        ALPHABET_VALUE[b[i + 3]!]!;
      b[out++] = v >> 16;
      b[out++] = (v >> 8) & 0xff;
      b[out++] = v & 0xff;
    }
    if (pads > 0) {
      const v =
        (ALPHABET_VALUE[b[whole]!]! << 18) |
        (ALPHABET_VALUE[b[whole + 1]!]! << 12) |
        (pads === 1 ? ALPHABET_VALUE[b[whole + 2]!]! << 6 : 0);
      b[out++] = v >> 16;
      if (pads === 1) b[out++] = (v >> 8) & 0xff;
    }
    return b.subarray(0, out);
  }

  private assertIntact(): void {
    if (this.consumed) throw new Error('LargeText was decoded in place; its text is gone');
  }
}

/**
 * Parses a JSON body, keeping long string values as bytes when they are the top-level field
 * `keepField` of an object (any other long string becomes a string as usual). The result is
 * what `JSON.parse` gives for the same text, with that one value a `LargeText`.
 */
export function parseJsonKeepingLargeText(raw: Buffer, keepField: string): unknown {
  const spans = largeStringSpans(raw);
  if (spans.length === 0) return JSON.parse(withoutBom(raw.toString('utf8')));

  // Each long value is replaced by a short marker no client can predict, then put back.
  // node:crypto is loaded here, on the first long value, not at start: nothing else in an
  // acts replica needs it, and loading it costs an idle replica about 0.6 MB.
  const { randomBytes } = process.getBuiltinModule('node:crypto');
  const marker = `\u0000${randomBytes(8).toString('hex')}#`;
  let text = '';
  let from = 0;
  spans.forEach(([start, end], i) => {
    text += raw.toString('utf8', from, start) + `\\u0000${marker.slice(1)}${i}`;
    from = end;
  });
  text += raw.toString('utf8', from);
  const parsed: unknown = JSON.parse(withoutBom(text));

  const original = (value: string): Buffer | undefined => {
    if (!value.startsWith(marker)) return undefined;
    const [start, end] = spans[Number(value.slice(marker.length))]!;
    return raw.subarray(start, end);
  };
  const restore = (value: unknown, topLevel: boolean): unknown => {
    if (typeof value === 'string') {
      const bytes = original(value);
      return bytes === undefined ? value : bytes.toString('latin1');
    }
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = restore(value[i], false);
      return value;
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const field = record[key];
      const bytes = typeof field === 'string' ? original(field) : undefined;
      const restored =
        bytes !== undefined && topLevel && key === keepField ? new LargeText(bytes) : restore(field, false);
      // defineProperty: a field named __proto__ is data here, never the prototype.
      if (restored !== field)
        Object.defineProperty(record, key, {
          value: restored,
          writable: true,
          enumerable: true,
          configurable: true,
        });
    }
    return record;
  };
  return restore(parsed, true);
}

function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * [start, end) of the contents of every string value (not key) of at least LARGE_TEXT_BYTES
 * printable ASCII bytes without escapes. Quotes pair exactly as a JSON lexer pairs them, so
 * swapping one such string for another leaves the text exactly as valid or invalid as before.
 */
function largeStringSpans(raw: Buffer): [number, number][] {
  const spans: [number, number][] = [];
  if (raw.length < LARGE_TEXT_BYTES) return spans;
  let position = 0;
  for (;;) {
    const open = raw.indexOf(0x22, position);
    if (open === -1) return spans;
    const close = closingQuote(raw, open);
    if (close === -1) return spans;
    if (close - open - 1 >= LARGE_TEXT_BYTES && isPlainAscii(raw, open + 1, close) && !isKey(raw, close + 1))
      spans.push([open + 1, close]);
    position = close + 1;
  }
}

function closingQuote(raw: Buffer, open: number): number {
  for (let from = open + 1; ;) {
    const quote = raw.indexOf(0x22, from);
    if (quote === -1) return -1;
    let backslashes = 0;
    while (raw[quote - 1 - backslashes] === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

function isPlainAscii(raw: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = raw[i]!;
    if (c < 0x20 || c > 0x7e || c === 0x5c) return false;
  }
  return true;
}

function isKey(raw: Buffer, after: number): boolean {
  let i = after;
  while (raw[i] === 0x20 || raw[i] === 0x09 || raw[i] === 0x0a || raw[i] === 0x0d) i++;
  return raw[i] === 0x3a;
}
