// HTTP/1.1 upstream pool over net sockets, or TLS ones from upstream-tls.ts
// (the UpstreamTlsContext transport socket, as the other pools use it; the
// undici pool in http1-pool.ts stays behind WEFT_PROXY_UNDICI_HTTP1=1). One
// request at a time per connection (no pipelining), keep-alive with the most
// recently used idle connection first, at most max_connections (circuit
// breaker; the rest wait in order), max_requests_per_connection, connect
// timeout, idle timeout (shortened by the upstream's Keep-Alive: timeout=
// hint), source address.
//
// Why not undici: on the proxy's hot path undici's dispatcher, handler
// wrapping and wasm parser were ~20 % of the CPU per request (bench/RESULTS.md).
// Per exchange this allocates one Exchange (which is also the UpstreamStream)
// and the head string, and writes the head once; connections and their reads
// are in lean-http1-conn.ts. No timer per request: idle connections are
// checked when picked and swept by one timer per pool.
import type { Http1PoolOptions } from "./http1-pool.js";
import { pipeRequestBody, sendsChunked, serializeRequestHead, unsafeField } from "./http1-request-writer.js";
import { Conn, Exchange, type LeanPoolSide } from "./lean-http1-conn.js";
import { upstreamTlsIdentity } from "../tls/upstream-tls.js";
import { UpstreamError, transportReasonOf, type ConnectionPool, type UpstreamHandler, type UpstreamRequest, type UpstreamStream } from "./upstream-stream.js";

/** The HTTP/1.1 pool's options; `tls` makes every connection a TLS one. */
export type LeanHttp1PoolOptions = Http1PoolOptions;

const DEFAULT_IDLE_MS = 4000;

class LeanPool implements ConnectionPool, LeanPoolSide {
  readonly baseIdleMs: number;
  private readonly idle: Conn[] = [];
  private readonly all = new Set<Conn>();
  private readonly queue: Exchange[] = [];
  private closed = false;
  private sweepTimer: NodeJS.Timeout | undefined = undefined;
  private sweepAt = 0;

  constructor(readonly o: LeanHttp1PoolOptions) {
    this.baseIdleMs = Math.min(o.idleTimeoutMs || DEFAULT_IDLE_MS, 3_600_000);
  }

  request(req: UpstreamRequest, handler: UpstreamHandler): UpstreamStream {
    const chunked = sendsChunked(req);
    const head = serializeRequestHead(req, chunked);
    const ex = new Exchange(this, req, handler, head ?? "", chunked);
    if (head === undefined) {
      // Nothing reaches the wire; the failure comes after request() returns, as any other would.
      const field = unsafeField(req);
      queueMicrotask(() => ex.fail(new UpstreamError("reset", `invalid value in request header '${field}'`)));
      return ex;
    }
    if (this.closed) {
      queueMicrotask(() => ex.fail(new UpstreamError("connection_failure", "pool closed")));
      return ex;
    }
    const c = this.pick();
    if (c) this.assign(c, ex);
    else if (this.all.size < Math.max(1, this.o.maxConnections)) this.connect(ex);
    else this.queue.push(ex);
    return ex;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.sweepTimer);
    for (const ex of this.queue.splice(0)) ex.fail(new UpstreamError("connection_termination", "pool closed"));
    for (const c of [...this.all]) this.retire(c);
  }

  /** The most recently used idle connection whose idle time has not run out. */
  private pick(): Conn | undefined {
    let now = 0;
    for (let c = this.idle.pop(); c !== undefined; c = this.idle.pop()) {
      if (c.socket.destroyed) continue;
      if (now === 0) now = Date.now();
      if (now - c.idleSince < c.idleMs) return c;
      this.retire(c); // the upstream may be closing it right now
    }
    return undefined;
  }

  release(c: Conn): void {
    c.exchange = undefined;
    if (c.socket.destroyed) return;
    const next = this.queue.shift();
    if (next) return this.assign(c, next);
    c.idleSince = Date.now();
    this.idle.push(c);
    const due = c.idleSince + c.idleMs;
    if (this.sweepTimer === undefined || due < this.sweepAt) this.armSweep(due, c.idleSince);
  }

  private armSweep(due: number, now: number): void {
    clearTimeout(this.sweepTimer);
    this.sweepAt = due;
    this.sweepTimer = setTimeout(() => this.sweep(), Math.max(1, due - now));
    this.sweepTimer.unref();
  }

  /** Closes the idle connections whose idle timeout passed; one timer per pool, re-armed for the next. */
  private sweep(): void {
    this.sweepTimer = undefined;
    const now = Date.now();
    let next = Infinity;
    for (const c of [...this.idle]) {
      const due = c.idleSince + c.idleMs;
      if (due <= now) this.retire(c);
      else if (due < next) next = due;
    }
    if (next !== Infinity) this.armSweep(next, now);
  }

  retire(c: Conn): void {
    this.all.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    if (!c.socket.destroyed) c.socket.destroy();
    this.kick();
  }

  /** A slot freed under max_connections: start the next waiting request on a new connection. */
  private kick(): void {
    while (!this.closed && this.queue.length > 0 && this.all.size < Math.max(1, this.o.maxConnections)) this.connect(this.queue.shift()!);
  }

  abort(ex: Exchange): void {
    if (ex.aborted) return;
    ex.aborted = true;
    const qi = this.queue.indexOf(ex);
    if (qi >= 0) this.queue.splice(qi, 1);
    const c = ex.conn;
    // Mid-exchange the connection's state is unknown: it is never reused.
    if (c && c.exchange === ex && !ex.finished) {
      c.exchange = undefined;
      this.retire(c);
    }
  }

  private connect(ex: Exchange): void {
    const o = this.o;
    let settled = false;
    const settle = (err: Error | undefined): void => {
      if (settled) return; // later socket errors: 'close' follows and settles the exchange
      settled = true;
      clearTimeout(timer);
      if (err) {
        o.events.connectFailed();
        this.all.delete(c);
        if (!c.socket.destroyed) c.socket.destroy();
        ex.fail(new UpstreamError("connection_failure", transportReasonOf(err), { cause: err }));
        this.kick();
        return;
      }
      c.connected = true;
      if (o.tls) c.tlsIdentity = upstreamTlsIdentity(c.socket);
      o.events.connected();
      if (ex.aborted) return this.release(c);
      this.assign(c, ex);
    };
    const c = new Conn(this, o, settle);
    const socket = c.socket;
    this.all.add(c);
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" })), o.connectTimeoutMs);
    socket.on("close", () => {
      if (!c.connected) {
        // Closed before it was established, without an error (the pool closed): the request can't go.
        settled = true;
        clearTimeout(timer);
        this.all.delete(c);
        ex.fail(new UpstreamError("connection_termination", "connection closed before it was established")); // a no-op after a failure
        return;
      }
      o.events.closed();
      this.onSocketGone(c);
    });
  }

  private onSocketGone(c: Conn): void {
    this.all.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    const ex = c.exchange;
    if (ex && !ex.finished && !ex.aborted) {
      if (!c.parser.done) {
        try {
          c.parser.finish(); // a body delimited by the close ends here (onEnd)
        } catch {
          ex.fail(new UpstreamError(c.parser.started ? "reset" : "connection_termination", ""));
        }
      } else ex.fail(new UpstreamError("connection_termination", ""));
    }
    c.exchange = undefined;
    this.kick();
  }

  private assign(c: Conn, ex: Exchange): void {
    c.exchange = ex;
    ex.conn = c;
    c.requests++;
    const req = ex.req;
    c.parser.reset(req.method === "HEAD");
    const socket = c.socket;
    socket.write(ex.head, "latin1");
    if (req.body === null) return;
    ex.sending = true;
    pipeRequestBody(socket, req.body, ex.chunked, req.onBodyChunk, ex);
  }
}

export function createLeanHttp1Pool(o: LeanHttp1PoolOptions): ConnectionPool {
  return new LeanPool(o);
}
