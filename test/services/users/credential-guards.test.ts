import request from 'supertest';
import { createApp } from '../../../services/users/app';
import { defaultHashingLimits, HashingGate, Overloaded } from '../../../services/users/hashing-gate';
import { clientAddress, LoginThrottle } from '../../../services/users/login-throttle';
import { silentLogger } from '../../../common/log';
import { SqlUsersStore } from '../../../services/users/sql-store';
import { openUsersDatabase, PASSWORD, tempDir } from '../support';

const WRONG = 'f'.repeat(40);

describe('login throttle (pure rules)', () => {
  const limits = { maxFailures: 3, windowMs: 10_000, maxKeys: 100 };
  let now = 0;
  const throttle = () => new LoginThrottle(limits, () => now);
  beforeEach(() => (now = 1_000_000));

  test('lets attempts through until the address reaches its failure limit, then asks to wait until the oldest failure ages out', () => {
    const t = throttle();
    for (let i = 0; i < 3; i++) {
      expect(t.retryAfterSeconds('1.2.3.4', `user${i}`)).toBe(0);
      t.recordFailure('1.2.3.4', `user${i}`);
      now += 1_000;
    }
    // Failures at +0, +1 s, +2 s; now +3 s: the first one leaves the window at +10 s.
    expect(t.retryAfterSeconds('1.2.3.4', 'someone-else')).toBe(7);
    expect(t.retryAfterSeconds('5.6.7.8', 'someone-else')).toBe(0);
    now += 7_000;
    expect(t.retryAfterSeconds('1.2.3.4', 'someone-else')).toBe(0);
  });

  test('a username attacked from many addresses is throttled too, and a success clears it', () => {
    const t = throttle();
    for (let i = 0; i < 3; i++) t.recordFailure(`10.0.0.${i}`, 'alice');
    expect(t.retryAfterSeconds('9.9.9.9', 'alice')).toBe(10);
    t.recordSuccess('alice');
    expect(t.retryAfterSeconds('9.9.9.9', 'alice')).toBe(0);
  });

  test('a well-behaved client that mistypes once and then signs in is never throttled', () => {
    const t = throttle();
    t.recordFailure('1.2.3.4', 'bob');
    expect(t.retryAfterSeconds('1.2.3.4', 'bob')).toBe(0);
    t.recordSuccess('bob');
    expect(t.retryAfterSeconds('1.2.3.4', 'bob')).toBe(0);
  });

  test('remembers at most maxKeys keys, forgetting the least recently failed', () => {
    const t = new LoginThrottle({ maxFailures: 1, windowMs: 10_000, maxKeys: 2 }, () => now);
    t.recordFailure('a', 'u1');
    t.recordFailure('b', 'u2');
    t.recordFailure('c', 'u3');
    expect(t.retryAfterSeconds('a', 'x')).toBe(0);
    expect(t.retryAfterSeconds('c', 'x')).toBeGreaterThan(0);
  });
});

describe('the client address behind proxies', () => {
  test.each([
    ['no proxy: the socket peer', undefined, '203.0.113.9', '203.0.113.9'],
    ['the front door alone, locally', '127.0.0.1', '127.0.0.1', '127.0.0.1'],
    ['cloud load balancer then front door', '198.51.100.7, 10.0.1.23', '127.0.0.1', '198.51.100.7'],
    ['a client prepending a fake address', '1.1.1.1, 198.51.100.7, 10.0.1.23', '127.0.0.1', '198.51.100.7'],
  ])('%s', (_name, forwardedFor, peer, expected) => {
    expect(clientAddress(forwardedFor, peer)).toBe(expected);
  });
});

describe('hashing gate', () => {
  test('runs at most `concurrent` at once, queues up to `queued`, and refuses the rest at once', async () => {
    const gate = new HashingGate({ concurrent: 2, queued: 1 });
    const releases: Array<() => void> = [];
    let peak = 0;
    let active = 0;
    const work = () =>
      gate.run(async () => {
        active += 1;
        peak = Math.max(peak, active);
        await new Promise<void>((resolve) => releases.push(resolve));
        active -= 1;
        return 'done';
      });
    const accepted = [work(), work(), work()];
    await expect(work()).rejects.toBeInstanceOf(Overloaded);
    expect(gate.load).toEqual({ running: 2, waiting: 1 });
    while (releases.length > 0 || gate.load.running > 0) {
      releases.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(accepted)).toEqual(['done', 'done', 'done']);
    expect(peak).toBe(2);
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
  });

  test('by default hashes on every core but one, at most 4, and on one core still hashes', () => {
    expect(defaultHashingLimits(2)).toEqual({ concurrent: 1, queued: 8 });
    expect(defaultHashingLimits(4)).toEqual({ concurrent: 3, queued: 8 });
    expect(defaultHashingLimits(8)).toEqual({ concurrent: 4, queued: 8 });
    expect(defaultHashingLimits(1)).toEqual({ concurrent: 1, queued: 8 });
  });
});

describe('sign-in and registration through the users app', () => {
  async function app(guards?: { concurrent: number; queued: number }) {
    const dir = tempDir();
    const database = await openUsersDatabase(`sqlite:${dir.path}/users.db`);
    const store = new SqlUsersStore(database.db);
    const throttle = new LoginThrottle({ maxFailures: 3, windowMs: 60_000, maxKeys: 100 });
    const hashing = new HashingGate(guards ?? { concurrent: 2, queued: 8 });
    const express = createApp({ store, logger: silentLogger, guards: { hashing, throttle } });
    return { express, close: async () => (await database.destroy(), dir.remove()) };
  }

  test('repeated wrong passwords from one address end in 429 with Retry-After, without checking the password', async () => {
    const a = await app();
    try {
      await request(a.express)
        .post('/api/v1/users')
        .send({ username: 'eve', password: PASSWORD })
        .expect(201);
      const attempt = () =>
        request(a.express)
          .post('/api/v1/users/eve/session')
          .set('x-forwarded-for', '198.51.100.7')
          .send({ password: WRONG });
      for (let i = 0; i < 3; i++) expect((await attempt()).status).toBe(401);
      const throttled = await attempt();
      expect(throttled.status).toBe(429);
      expect(throttled.text).toBe('{}');
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
      // Even the right password waits: the throttle answers before any check.
      const right = await request(a.express)
        .post('/api/v1/users/eve/session')
        .set('x-forwarded-for', '198.51.100.7')
        .send({ password: PASSWORD });
      expect(right.status).toBe(429);
      // Another client signing in to another account is unaffected.
      await request(a.express)
        .post('/api/v1/users')
        .send({ username: 'bob', password: PASSWORD })
        .expect(201);
      await request(a.express)
        .post('/api/v1/users/bob/session')
        .set('x-forwarded-for', '203.0.113.5')
        .send({ password: PASSWORD })
        .expect(200);
    } finally {
      await a.close();
    }
  });

  test('registrations past the hashing queue get 503 with Retry-After at once, and none of them is half-created', async () => {
    const a = await app({ concurrent: 1, queued: 1 });
    try {
      const replies = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          request(a.express)
            .post('/api/v1/users')
            .send({ username: `u${i}`, password: PASSWORD }),
        ),
      );
      const statuses = replies.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(2);
      expect(statuses.every((s) => s === 201 || s === 503)).toBe(true);
      expect(statuses).toContain(503);
      for (const r of replies.filter((x) => x.status === 503)) expect(r.headers['retry-after']).toBe('1');
      const created = replies.filter((r) => r.status === 201).length;
      const list = await request(a.express).get('/api/v1/users');
      expect((list.body as string[]).length).toBe(created);
    } finally {
      await a.close();
    }
  });
});
