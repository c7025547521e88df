import { promiseWithin, settleWithin, type Callback } from '../../../services/shared/deadline';

jest.useFakeTimers();

describe('settleWithin', () => {
  test('reports the outcome once when it comes first, and never the deadline', () => {
    const reports: unknown[][] = [];
    const expire = jest.fn(() => new Error('late'));
    settleWithin<number>(
      { ms: 100, expire },
      (done) => done(undefined, 7),
      (...args) => reports.push(args),
    );
    jest.advanceTimersByTime(1_000);
    expect(reports).toEqual([[undefined, 7]]);
    expect(expire).not.toHaveBeenCalled();
  });

  test('reports the deadline once, and hands a later outcome to `late`', () => {
    const reports: unknown[][] = [];
    const late = jest.fn();
    let finish!: Callback<string>;
    settleWithin<string>(
      { ms: 100, expire: () => new Error('expired'), late },
      (done) => (finish = done),
      (...args) => reports.push(args),
    );
    jest.advanceTimersByTime(99);
    expect(reports).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(reports).toEqual([[new Error('expired'), undefined]]);
    finish(undefined, 'connection');
    expect(reports).toHaveLength(1);
    expect(late).toHaveBeenCalledWith(undefined, 'connection');
  });
});

describe('promiseWithin', () => {
  test('resolves and rejects as the promise does when it settles in time', async () => {
    await expect(promiseWithin(Promise.resolve('ok'), 100, () => new Error('expired'))).resolves.toBe('ok');
    await expect(
      promiseWithin(Promise.reject(new Error('no')), 100, () => new Error('expired')),
    ).rejects.toThrow('no');
  });

  test('rejects with the deadline error, and a later rejection is not left unhandled', async () => {
    let fail!: (error: Error) => void;
    const slow = new Promise<string>((_resolve, reject) => (fail = reject));
    const bounded = promiseWithin(slow, 100, () => new Error('expired'));
    jest.advanceTimersByTime(100);
    await expect(bounded).rejects.toThrow('expired');
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    fail(new Error('late failure'));
    await Promise.resolve();
    await new Promise((resolve) =>
      jest.requireActual<typeof import('node:timers')>('node:timers').setImmediate(resolve),
    );
    process.off('unhandledRejection', unhandled);
    expect(unhandled).not.toHaveBeenCalled();
  });
});
