/**
 * Strict round-robin over the replicas of one pool. Pure bookkeeping: no timers, no I/O.
 *
 * Members are kept sorted by port and the cursor remembers the last port served rather than
 * an index, so adding, removing or toggling members never makes the rotation skip a
 * replica or serve one twice in a row: the next pick is always the first port in rotation
 * after the last one served, wrapping around.
 */
export interface BalancerMember {
  port: number;
  inRotation: boolean;
  inFlight: number;
}

interface Member extends BalancerMember {
  drainWaiters: Array<() => void>;
}

export class RoundRobinBalancer {
  private members: Member[] = [];
  private lastServed: number | undefined;

  /** Joins the set out of rotation: a replica serves only once a health probe vouched for it. */
  add(port: number): void {
    if (this.find(port)) return;
    const member: Member = { port, inRotation: false, inFlight: 0, drainWaiters: [] };
    const at = this.members.findIndex((m) => m.port > port);
    if (at === -1) this.members.push(member);
    else this.members.splice(at, 0, member);
  }

  /** Forgets the port; anyone waiting for it to drain is released, since nothing will report on it again. */
  remove(port: number): void {
    const at = this.members.findIndex((m) => m.port === port);
    if (at === -1) return;
    const [member] = this.members.splice(at, 1);
    settle(member);
  }

  setInRotation(port: number, inRotation: boolean): void {
    const member = this.find(port);
    if (member) member.inRotation = inRotation;
  }

  isInRotation(port: number): boolean {
    return this.find(port)?.inRotation ?? false;
  }

  /**
   * Passive ejection: out of rotation now, unless `evenIfLast` is false and it is the only
   * member left in rotation (then one suspect replica beats answering 503 to everyone).
   * Returns whether it is out of rotation afterwards.
   */
  eject(port: number, evenIfLast: boolean): boolean {
    const member = this.find(port);
    if (!member) return true;
    if (!member.inRotation) return true;
    if (!evenIfLast && !this.members.some((m) => m.inRotation && m !== member)) return false;
    member.inRotation = false;
    return true;
  }

  /** Whether any replica would be served now; unlike next(), it moves no cursor. */
  hasMemberInRotation(): boolean {
    return this.members.some((m) => m.inRotation);
  }

  next(): number | undefined {
    const candidates = this.members;
    if (candidates.length === 0) return undefined;
    const last = this.lastServed;
    let start = 0;
    if (last !== undefined) {
      while (start < candidates.length && candidates[start].port <= last) start++;
      if (start === candidates.length) start = 0;
    }
    for (let i = 0; i < candidates.length; i++) {
      const member = candidates[(start + i) % candidates.length];
      if (member.inRotation) {
        this.lastServed = member.port;
        return member.port;
      }
    }
    return undefined;
  }

  acquire(port: number): void {
    const member = this.find(port);
    if (member) member.inFlight += 1;
  }

  release(port: number): void {
    const member = this.find(port);
    if (!member || member.inFlight === 0) return;
    member.inFlight -= 1;
    if (member.inFlight === 0) settle(member);
  }

  /** Resolves once the port has no request in flight (at once when it has none or is unknown). */
  whenDrained(port: number): Promise<void> {
    const member = this.find(port);
    if (!member || member.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => member.drainWaiters.push(resolve));
  }

  snapshot(): BalancerMember[] {
    return this.members.map(({ port, inRotation, inFlight }) => ({ port, inRotation, inFlight }));
  }

  private find(port: number): Member | undefined {
    for (const member of this.members) if (member.port === port) return member;
    return undefined;
  }
}

function settle(member: Member): void {
  const waiters = member.drainWaiters;
  member.drainWaiters = [];
  for (const resolve of waiters) resolve();
}
