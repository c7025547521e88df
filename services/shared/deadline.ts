/**
 * A deadline on one callback-style operation: whichever comes first, the operation's own
 * outcome or the deadline, is reported, once. The database's deadlines (a pooled connection,
 * a statement) and the health check's bound on its database check are all this one rule.
 */
export type Callback<T> = (error: unknown, result: T) => void;

export interface Deadline<T> {
  ms: number;
  /** The error reported when `ms` pass first; any clean-up of the abandoned operation goes here. */
  expire: () => Error;
  /** What becomes of an outcome that arrives after the deadline (e.g. a connection handed back). */
  late?: Callback<T>;
}

/** Starts `run` and reports to `callback` exactly once: its outcome, or `expire()` past the deadline. */
export function settleWithin<T>(
  deadline: Deadline<T>,
  run: (done: Callback<T>) => void,
  callback: Callback<T | undefined>,
): void {
  let settled = false;
  const timer = setTimeout(() => {
    settled = true;
    callback(deadline.expire(), undefined);
  }, deadline.ms);
  run((error, result) => {
    if (settled) {
      deadline.late?.(error, result);
      return;
    }
    settled = true;
    clearTimeout(timer);
    callback(error, result);
  });
}

/** `promise`, or a rejection with `expire()` if it has not settled within `ms`. A late outcome is dropped. */
export function promiseWithin<T>(promise: Promise<T>, ms: number, expire: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) =>
    settleWithin<T>(
      { ms, expire },
      (done) =>
        promise.then(
          (value) => done(undefined, value),
          (error: unknown) => done(error, undefined as T),
        ),
      (error, value) => (error ? reject(error) : resolve(value as T)),
    ),
  );
}
