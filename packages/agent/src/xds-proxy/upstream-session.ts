import type { Logger } from "pino";
import { createAsyncQueue, type AsyncQueue } from "./async-queue.js";
import type { Backoff } from "./backoff.js";

export interface UpstreamSessionOptions<Req, Res> {
  /** Opens one upstream gRPC stream fed by `requests`. */
  open(requests: AsyncIterable<Req>, signal: AbortSignal): AsyncIterable<Res>;
  /** Requests that restore the downstream's subscriptions on a fresh upstream stream (in send order). */
  initialRequests(generation: number): Req[];
  onResponse(res: Res, generation: number): void;
  onConnectedChange?(connected: boolean): void;
  backoff: Backoff;
  log: Logger;
}

export interface UpstreamSession<Req> {
  /** Sends on the current upstream stream; false when none is open (the request is then covered by initialRequests() on reconnect). */
  send(req: Req): boolean;
  /** Counts upstream streams: responses and nonces belong to one generation. */
  readonly generation: number;
  readonly connected: boolean;
  close(): void;
}

/**
 * Keeps one logical stream to discovery alive across upstream failures: on error or end it
 * waits a jittered backoff and opens a new stream seeded with initialRequests(), while the
 * downstream (the proxy's stream) stays open and keeps its config.
 */
export function createUpstreamSession<Req, Res>(o: UpstreamSessionOptions<Req, Res>): UpstreamSession<Req> {
  const abort = new AbortController();
  let queue: AsyncQueue<Req> | undefined;
  let generation = 0;
  let connected = false;
  let closed = false;

  const setConnected = (v: boolean) => {
    if (connected !== v) {
      connected = v;
      o.onConnectedChange?.(v);
    }
  };

  const loop = async () => {
    while (!closed) {
      generation++;
      const gen = generation;
      const q = createAsyncQueue<Req>();
      for (const r of o.initialRequests(gen)) q.push(r);
      queue = q;
      const streamAbort = new AbortController();
      const onAbort = () => streamAbort.abort();
      abort.signal.addEventListener("abort", onAbort);
      let gotResponse = false;
      try {
        for await (const res of o.open(q, streamAbort.signal)) {
          if (!gotResponse) {
            gotResponse = true;
            o.backoff.reset();
            setConnected(true);
            o.log.info({ generation: gen }, "connected to discovery");
          }
          o.onResponse(res, gen);
        }
        if (!closed) o.log.warn({ generation: gen }, "discovery closed the stream");
      } catch (err) {
        if (!closed) o.log.warn({ generation: gen, err: (err as Error).message }, "discovery stream failed");
      } finally {
        abort.signal.removeEventListener("abort", onAbort);
        streamAbort.abort();
        q.end();
        if (queue === q) queue = undefined;
        setConnected(false);
      }
      if (closed) break;
      const delay = o.backoff.next();
      o.log.info({ delayMs: delay }, "reconnecting to discovery");
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          abort.signal.removeEventListener("abort", wake);
          resolve();
        }, delay);
        abort.signal.addEventListener("abort", wake, { once: true });
      });
    }
  };
  void loop();

  return {
    send(req) {
      if (!queue || queue.ended) return false;
      queue.push(req);
      return true;
    },
    get generation() {
      return generation;
    },
    get connected() {
      return connected;
    },
    close() {
      closed = true;
      queue?.end();
      abort.abort();
    },
  };
}
