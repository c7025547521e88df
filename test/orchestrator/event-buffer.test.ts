import { EventBuffer } from '../../orchestrator/event-buffer';
import { ReplicaEventReader } from '../../orchestrator/replica-events';

describe('the event buffer', () => {
  test('numbers events from 1 and keeps only the last N, oldest first', () => {
    const buffer = new EventBuffer<{ name: string }>(3);
    expect(buffer.lastSeq).toBe(0);
    for (const name of ['a', 'b', 'c', 'd', 'e']) buffer.push({ name });
    expect(buffer.recent()).toEqual([
      { name: 'c', seq: 3 },
      { name: 'd', seq: 4 },
      { name: 'e', seq: 5 },
    ]);
    expect(buffer.lastSeq).toBe(5);
  });

  test('tells every listener of each event exactly once, and nothing after it unsubscribes', () => {
    const buffer = new EventBuffer<{ n: number }>(10);
    const first: number[] = [];
    const second: number[] = [];
    const stopFirst = buffer.subscribe((e) => first.push(e.seq));
    buffer.subscribe((e) => second.push(e.seq));
    buffer.push({ n: 1 });
    buffer.push({ n: 2 });
    stopFirst();
    buffer.push({ n: 3 });
    expect(first).toEqual([1, 2]);
    expect(second).toEqual([1, 2, 3]);
    expect(buffer.subscribers).toBe(1);
  });

  test('a listener that throws does not keep the event from the others or from the buffer', () => {
    const buffer = new EventBuffer<{ n: number }>(10);
    const seen: number[] = [];
    buffer.subscribe(() => {
      throw new Error('connection gone');
    });
    buffer.subscribe((e) => seen.push(e.seq));
    buffer.push({ n: 1 });
    expect(seen).toEqual([1]);
    expect(buffer.recent()).toHaveLength(1);
  });

  test('a listener added while an event is delivered first hears the next one', () => {
    const buffer = new EventBuffer<{ n: number }>(10);
    const late: number[] = [];
    buffer.subscribe(() => {
      if (buffer.subscribers === 1) buffer.subscribe((e) => late.push(e.seq));
    });
    buffer.push({ n: 1 });
    buffer.push({ n: 2 });
    expect(late).toEqual([2]);
  });

  test('refuses a capacity below one', () => {
    expect(() => new EventBuffer(0)).toThrow(/capacity/);
  });
});

describe('reading events from the log lines', () => {
  const T = '2026-01-01T00:00:00.000Z';
  const state = (to: string, reason: string, extra: Record<string, unknown> = {}) => ({
    pool: 'acts',
    port: 8000,
    id: 'pid:1',
    from: 'running',
    to,
    reason,
    ...extra,
  });

  test('a crash reads as unhealthy, backoff, then replaced with the new id and the reason', () => {
    const reader = new ReplicaEventReader();
    const read = (msg: string, fields: Record<string, unknown>) => reader.read(msg, fields, T);
    expect(read('replica state', state('replacing', 'unhealthy: health probe answered 500'))).toMatchObject({
      kind: 'unhealthy',
      port: 8000,
      id: 'pid:1',
      reason: 'unhealthy: health probe answered 500',
    });
    expect(read('replica state', state('backoff', '2 failures in a row: waiting 1000 ms'))?.kind).toBe(
      'backoff',
    );
    expect(
      read(
        'replica state',
        state('starting', 'replacing: unhealthy: health probe answered 500', { id: null }),
      ),
    ).toBeNull();
    expect(read('replica started', { pool: 'acts', port: 8000, id: 'pid:2' })).toEqual({
      time: T,
      kind: 'replaced',
      pool: 'acts',
      port: 8000,
      id: 'pid:2',
      reason: 'new pid:2 replacing: unhealthy: health probe answered 500',
    });
    expect(read('replica state', state('running', 'health probe passed (200)', { id: 'pid:2' }))?.kind).toBe(
      'healthy',
    );
    expect(reader.startedAt('pid:2')).toBe(T);
  });

  test('a first start reads as started with the reason it was started for', () => {
    const reader = new ReplicaEventReader();
    reader.read('replica state', state('starting', 'orchestrator start', { id: null }), T);
    expect(reader.read('replica started', { pool: 'acts', port: 8000, id: 'pid:9' }, T)).toMatchObject({
      kind: 'started',
      reason: 'orchestrator start',
    });
  });

  test('scaling: the window decision is kept as the last decision, and the change reads as scaled', () => {
    const reader = new ReplicaEventReader();
    const reason = '25 counted requests: floor(25/20)+1 within 1..10 = 2 replicas';
    expect(
      reader.read('scaling window ended', { pool: 'acts', count: 25, desired: 2, reason }, T),
    ).toMatchObject({ kind: 'window-ended', port: null, reason });
    expect(reader.lastDecision('acts')).toEqual({ at: T, count: 25, desired: 2, reason });
    expect(reader.lastDecision('users')).toBeNull();
    expect(
      reader.read(
        'desired replicas changed',
        { pool: 'acts', from: 1, to: 2, reason: 'window ended with 25 counted requests' },
        T,
      ),
    ).toMatchObject({ kind: 'scaled', reason: '1 → 2 replicas: window ended with 25 counted requests' });
  });

  test.each([
    ['replica state', state('starting', 'adopted from a previous run'), 'adopted'],
    ['replica state', state('draining', 'scaling down to 1'), 'draining'],
    ['replica state', state('stopping', 'drained'), 'drained'],
    ['replica removed', { pool: 'acts', port: 8001, id: 'pid:3', reason: 'scaled down' }, 'removed'],
    ['replica exited', { pool: 'acts', port: 8000, id: 'pid:1', reason: 'exited with code 1' }, 'exited'],
    [
      'replica out of rotation',
      { pool: 'acts', port: 8000, reason: 'undeliverable: ECONNREFUSED' },
      'out-of-rotation',
    ],
    [
      'removing stray replica',
      { pool: 'acts', port: 8009, id: 'x', reason: 'not managed by this run' },
      'stray-removed',
    ],
    ['replica lifecycle step failed', { pool: 'acts', port: 8000, error: 'boom' }, 'failed'],
  ])('%s (%j) reads as %s', (msg, fields, kind) => {
    expect(new ReplicaEventReader().read(msg, fields, T)?.kind).toBe(kind);
  });

  test.each([
    ['listening', { frontDoor: '127.0.0.1:80' }],
    ['stopping', { teardown: true }],
    ['replica state', state('stopping', 'orchestrator shutting down')],
    ['something new', { pool: 'acts' }],
  ])('%s is not a replica event', (msg, fields) => {
    expect(new ReplicaEventReader().read(msg, fields, T)).toBeNull();
  });
});
