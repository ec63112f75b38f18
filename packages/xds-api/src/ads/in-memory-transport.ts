/**
 * A bidirectional stream in memory, shaped like a gRPC bidi call from both
 * ends, so protocol tests need no sockets. Each side sends with `send` and
 * reads the other side's messages by async iteration.
 */
export interface StreamEnd<Out, In> extends AsyncIterable<In> {
  send(message: Out): void;
  /** Ends this side's outgoing messages; the peer's iteration finishes. */
  close(): void;
  /** Next message or undefined when the peer closed; rejects after `timeoutMs`. */
  next(timeoutMs?: number): Promise<In | undefined>;
}

export interface InMemoryStream<Req, Res> {
  client: StreamEnd<Req, Res>;
  server: StreamEnd<Res, Req>;
}

class Queue<T> {
  private items: T[] = [];
  private waiters: Array<(value: IteratorResult<T>) => void> = [];
  private closed = false;

  push(item: T): void {
    if (this.closed) throw new Error("stream closed");
    const waiter = this.waiters.shift();
    if (waiter) waiter({ value: item, done: false });
    else this.items.push(item);
  }

  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter({ value: undefined, done: true });
  }

  take(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

function end<Out, In>(outgoing: Queue<Out>, incoming: Queue<In>): StreamEnd<Out, In> {
  return {
    send: (message) => outgoing.push(message),
    close: () => outgoing.close(),
    async next(timeoutMs = 1000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no message within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        const result = await Promise.race([incoming.take(), timeout]);
        return result.done ? undefined : result.value;
      } finally {
        clearTimeout(timer);
      }
    },
    [Symbol.asyncIterator]: () => ({ next: () => incoming.take() }),
  };
}

export function createInMemoryStream<Req, Res>(): InMemoryStream<Req, Res> {
  const requests = new Queue<Req>();
  const responses = new Queue<Res>();
  return { client: end(requests, responses), server: end(responses, requests) };
}
