/**
 * What the admin address may show of a pool's configuration. Environment values are where
 * credentials live (DATABASE_URL holds the database password on every deployed host), so
 * none is shown whole: a URL keeps its scheme, user and host (enough to tell which database)
 * and loses its password, path and query; anything else is masked entirely. The secrets the
 * config holds are also collected, so text built at run time (a start error, a log line) can
 * be scrubbed of them before it leaves the process.
 */
import type { PoolConfig } from './config';

export const MASK = '***';

/** Names whose values are secret even when they are not URLs with a password in them. */
const SECRET_NAME = /pass|secret|token|key|credential|auth/i;
/** Shorter strings are too likely to occur by chance to be scrubbed out of other text. */
const MIN_SCRUBBED_LENGTH = 4;

function parseUrl(value: string): URL | undefined {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(value)) return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** One environment value as the admin address shows it. */
export function redactEnvValue(value: string): string {
  const url = parseUrl(value);
  if (!url) return MASK;
  if (!url.host) return `${url.protocol}${MASK}`;
  const user = url.username ? (url.password ? `${url.username}:${MASK}@` : `${url.username}@`) : '';
  const rest = (url.pathname && url.pathname !== '/' ? `/${MASK}` : '') + (url.search ? `?${MASK}` : '');
  return `${url.protocol}//${user}${url.host}${rest}`;
}

export function redactEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([name, value]) => [name, redactEnvValue(value)]));
}

/** A command line with any password inside a URL argument masked (the rest is code, not secret). */
export function redactCommand(command: readonly string[]): string[] {
  return command.map((arg) => arg.replace(/(\/\/[^/\s:@]*:)[^@\s/]+@/g, `$1${MASK}@`));
}

/** Every secret string the pools' configuration holds, in the forms it may appear in text. */
export function secretsOf(pools: readonly PoolConfig[]): string[] {
  const found = new Set<string>();
  const add = (secret: string) => {
    if (secret.length < MIN_SCRUBBED_LENGTH) return;
    found.add(secret);
    try {
      found.add(decodeURIComponent(secret));
    } catch {
      // Not percent-encoded: the raw form is enough.
    }
  };
  for (const pool of pools) {
    for (const [name, value] of Object.entries(pool.env)) {
      if (SECRET_NAME.test(name)) add(value);
      const password = parseUrl(value)?.password;
      if (password) add(password);
    }
    for (const arg of pool.command ?? []) {
      const password = parseUrl(arg)?.password;
      if (password) add(password);
    }
  }
  // Longest first, so a secret containing another is masked whole.
  return [...found].sort((a, b) => b.length - a.length);
}

/** `text` with every occurrence of every secret masked. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(MASK);
  return out;
}

/** A log line's fields with every string (at any depth) scrubbed; other values as they are. */
export function scrubFields<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  if (typeof value === 'string') return scrubSecrets(value, secrets) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => scrubFields(v, secrets)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubFields(v, secrets)])) as T;
  }
  return value;
}
