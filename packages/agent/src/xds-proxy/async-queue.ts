/** An unbounded async queue: producers push, one consumer iterates; end() or fail() finishes it. */
export interface AsyncQueue<T> extends AsyncIterable<T> {
  push(value: T): void;
  end(): void;
  fail(err: unknown): void;
  readonly ended: boolean;
}

export function createAsyncQueue<T>(): AsyncQueue<T> {
  const items: T[] = [];
  let waiter: ((r: IteratorResult<T>) => void) | undefined;
  let failWaiter: ((err: unknown) => void) | undefined;
  let done = false;
  let error: unknown;
  return {
    get ended() {
      return done;
    },
    push(value) {
      if (done) return;
      if (waiter) {
        const w = waiter;
        waiter = failWaiter = undefined;
        w({ value, done: false });
      } else items.push(value);
    },
    end() {
      if (done) return;
      done = true;
      if (waiter) {
        const w = waiter;
        waiter = failWaiter = undefined;
        w({ value: undefined, done: true });
      }
    },
    fail(err) {
      if (done) return;
      done = true;
      error = err;
      if (failWaiter) {
        const f = failWaiter;
        waiter = failWaiter = undefined;
        f(err);
      }
    },
    [Symbol.asyncIterator]() {
      return {
        next: () => {
          if (items.length > 0) return Promise.resolve({ value: items.shift()!, done: false });
          if (done) return error !== undefined ? Promise.reject(error) : Promise.resolve({ value: undefined, done: true });
          return new Promise<IteratorResult<T>>((resolve, reject) => {
            waiter = resolve;
            failWaiter = reject;
          });
        },
        return: () => {
          done = true;
          items.length = 0;
          return Promise.resolve({ value: undefined, done: true });
        },
        // connect-es drives request iterables with throw() when the call fails.
        throw: (err?: unknown) => {
          done = true;
          items.length = 0;
          return Promise.reject(err);
        },
      };
    },
  };
}
