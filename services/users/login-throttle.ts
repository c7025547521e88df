/**
 * Repeated failed sign-ins slow down, per client address and per username, the way identity
 * services do: after `maxFailures` failures within `windowMs`, further attempts from that
 * address or for that username are refused (429 with Retry-After) without checking the
 * password, until the oldest failure leaves the window. A successful sign-in clears its
 * username's record. Pure bookkeeping with an injected clock; memory is bounded by evicting
 * the least recently failed keys.
 */
export interface ThrottleLimits {
  maxFailures: number;
  windowMs: number;
  /** Most keys remembered at once (per kind); the oldest are forgotten first. */
  maxKeys: number;
}

export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = { maxFailures: 10, windowMs: 60_000, maxKeys: 10_000 };

type Kind = 'address' | 'username';

export class LoginThrottle {
  private readonly failures: Record<Kind, Map<string, number[]>> = {
    address: new Map(),
    username: new Map(),
  };

  constructor(
    private readonly limits: ThrottleLimits = DEFAULT_THROTTLE_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds to wait before trying again, or 0 when the attempt may go ahead. */
  retryAfterSeconds(address: string, username: string): number {
    const waitMs = Math.max(this.waitMs('address', address), this.waitMs('username', username));
    return waitMs === 0 ? 0 : Math.ceil(waitMs / 1000);
  }

  recordFailure(address: string, username: string): void {
    this.record('address', address);
    this.record('username', username);
  }

  recordSuccess(username: string): void {
    this.failures.username.delete(username);
  }

  private waitMs(kind: Kind, key: string): number {
    const times = this.recent(kind, key);
    if (times.length < this.limits.maxFailures) return 0;
    const oldestThatCounts = times[times.length - this.limits.maxFailures]!;
    return Math.max(1, oldestThatCounts + this.limits.windowMs - this.now());
  }

  private record(kind: Kind, key: string): void {
    const map = this.failures[kind];
    const times = this.recent(kind, key);
    times.push(this.now());
    // Only the last `maxFailures` matter for the verdict.
    if (times.length > this.limits.maxFailures) times.splice(0, times.length - this.limits.maxFailures);
    map.delete(key);
    map.set(key, times);
    if (map.size > this.limits.maxKeys) map.delete(map.keys().next().value!);
  }

  private recent(kind: Kind, key: string): number[] {
    const times = this.failures[kind].get(key);
    if (!times) return [];
    const since = this.now() - this.limits.windowMs;
    while (times.length > 0 && times[0]! <= since) times.shift();
    if (times.length === 0) this.failures[kind].delete(key);
    return times;
  }
}

const PRIVATE_ADDRESS =
  /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.|::1$|f[cd]|fe80:|::ffff:(127|10)\.)/i;

/**
 * The address of the client as the nearest trustworthy hop saw it: the rightmost
 * X-Forwarded-For entry that is not a private address (each proxy on the way, the cloud load
 * balancer and the front door, appends what connected to it; a client can only prepend), else
 * the rightmost entry, else the socket's peer.
 */
export function clientAddress(forwardedFor: string | undefined, peer: string | undefined): string {
  const hops = (forwardedFor ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  for (let i = hops.length - 1; i >= 0; i--) if (!PRIVATE_ADDRESS.test(hops[i]!)) return hops[i]!;
  return hops[hops.length - 1] ?? peer ?? 'unknown';
}
