// An unbounded single-consumer queue bridging pushes (which happen whenever
// config changes) to the response stream connect-node pulls from.

export interface AsyncQueue<T> extends AsyncIterable<T> {
  push(item: T): void;
  /** Ends the stream after the queued items. */
  end(): void;
  /** Ends the stream with an error after the queued items. */
  fail(error: unknown): void;
  readonly size: number;
  readonly closed: boolean;
}

export function createAsyncQueue<T>(): AsyncQueue<T> {
  const items: T[] = [];
  let head = 0;
  let waiter: (() => void) | undefined;
  let done = false;
  let failure: { error: unknown } | undefined;

  const wake = () => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };

  return {
    push(item) {
      if (done) return;
      items.push(item);
      wake();
    },
    end() {
      done = true;
      wake();
    },
    fail(error) {
      if (done) return;
      failure = { error };
      done = true;
      wake();
    },
    get size() {
      return items.length - head;
    },
    get closed() {
      return done;
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (head < items.length) {
          const item = items[head];
          items[head++] = undefined as T;
          if (head > 1024 && head * 2 > items.length) {
            items.splice(0, head);
            head = 0;
          }
          yield item;
          continue;
        }
        if (done) {
          if (failure) throw failure.error;
          return;
        }
        await new Promise<void>((resolve) => (waiter = resolve));
      }
    },
  };
}
