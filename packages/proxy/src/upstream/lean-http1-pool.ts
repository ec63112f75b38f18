// HTTP/1.1 upstream pool over net sockets, or TLS ones from upstream-tls.ts
// (the UpstreamTlsContext transport socket, as the other pools use it; the
// undici pool in http1-pool.ts is kept behind WEFT_PROXY_UNDICI_HTTP1=1). One request at a time
// per connection (no pipelining), keep-alive with the most recently used
// idle connection first, at most max_connections (circuit breaker; the rest
// wait in order), max_requests_per_connection, connect timeout, idle timeout
// (shortened by the upstream's Keep-Alive: timeout= hint), source address.
//
// Why not undici: on the proxy's hot path undici's dispatcher, handler
// wrapping and wasm parser were ~20 % of the CPU per request (bench/RESULTS.md).
// Per exchange this allocates one Exchange (which is also the UpstreamStream)
// and the head string, writes the head once, and reads plaintext sockets through
// net's `onread` into one reused buffer (no Readable stream machinery per read;
// TLS sockets deliver their own buffers through 'data'): the parser
// never keeps those bytes, and body pieces are copied once before they reach
// the handler, which may hold them (a queued downstream write, a buffered
// ext_authz body). No timer per request: idle connections are checked when
// picked and swept by one timer per pool.
import * as net from "node:net";
import type { Http1PoolOptions } from "./http1-pool.js";
import { connectUpstreamTls } from "../tls/upstream-tls.js";
import { createResponseParser, ResponseParseError, type ResponseHeaders, type ResponseParser, type ResponseParserEvents } from "./http1-response-parser.js";
import { pipeRequestBody, serializeRequestHead, type BodyPipe } from "./http1-request-writer.js";
import { UpstreamError, transportReasonOf, type ConnectionPool, type UpstreamHandler, type UpstreamRequest, type UpstreamStream } from "./upstream-stream.js";

/** The HTTP/1.1 pool's options; `tls` makes every connection a TLS one. */
export type LeanHttp1PoolOptions = Http1PoolOptions;

const DEFAULT_IDLE_MS = 4000;

/**
 * Every lean-pool socket of the process reads into this one buffer. Safe because a read
 * callback runs to completion before the next read lands in it, and nothing keeps a
 * reference past the callback (the parser copies a partial head, the pool copies bodies).
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

class Exchange implements UpstreamStream, BodyPipe {
  conn: Conn | undefined = undefined;
  aborted = false;
  finished = false;
  /** The request body is still being written: the connection can't be reused yet. */
  sending = false;
  reusable = true;
  paused = false;

  constructor(
    readonly pool: LeanPool,
    readonly req: UpstreamRequest,
    readonly handler: UpstreamHandler,
    readonly head: string,
    readonly chunked: boolean,
  ) {}

  fail(err: UpstreamError): void {
    if (this.finished || this.aborted) return;
    this.finished = true;
    this.handler.onError(err);
  }

  localAddress(): string | undefined {
    return this.conn?.local();
  }

  resume(): void {
    if (!this.paused || !this.conn) return;
    this.paused = false;
    this.conn.socket.resume();
  }

  abort(): void {
    this.pool.abort(this);
  }

  stopped(): boolean {
    return this.aborted;
  }

  bodySent(): void {
    this.sending = false;
    // The response may already be complete (the upstream answered early): now the connection can go.
    const c = this.conn;
    if (this.finished && c && c.exchange === undefined && !c.socket.destroyed) this.pool.retire(c);
  }

  bodyFailed(): void {
    if (this.conn) this.pool.retire(this.conn);
  }
}

class Conn implements ResponseParserEvents {
  readonly socket: net.Socket;
  readonly parser: ResponseParser;
  requests = 0;
  idleMs: number;
  idleSince = 0;
  connected = false;
  exchange: Exchange | undefined = undefined;
  /** Reads arrive in buffers of their own (TLS 'data'), not in READ_BUFFER: bodies need no copy. */
  private readonly ownReads: boolean;
  private localText: string | undefined = undefined;

  /** `settle(err)`: the connection is established (TCP, or TLS handshake and server checks done) or failed. */
  constructor(
    readonly pool: LeanPool,
    o: LeanHttp1PoolOptions,
    settle: (err: Error | undefined) => void,
  ) {
    this.idleMs = pool.baseIdleMs;
    this.parser = createResponseParser(false, this);
    if (o.tls) {
      // TLS failures reach settle as UpstreamTlsError (Envoy's transport failure reason), before the socket's own 'error'.
      this.socket = connectUpstreamTls({ host: o.ip, port: o.port, pipe: o.pipe, localAddress: o.localAddress }, o.tls, "http1", settle);
      this.socket.setNoDelay(true);
      this.socket.on("data", (d: Buffer) => this.onRead(d));
      this.ownReads = true;
    } else {
      const onread = { buffer: READ_BUFFER, callback: (n: number): boolean => this.onRead(READ_BUFFER.subarray(0, n)) };
      this.socket = o.pipe ? net.connect({ path: o.pipe, onread }) : net.connect({ host: o.ip, port: o.port, localAddress: o.localAddress, noDelay: true, onread });
      this.socket.once("connect", () => settle(undefined));
      this.ownReads = false;
    }
    this.socket.on("error", settle);
  }

  local(): string | undefined {
    const s = this.socket;
    if (this.localText === undefined && s.localAddress) this.localText = `${s.localAddress}:${s.localPort}`;
    return this.localText;
  }

  /** Bytes read (net's onread callback, or 'data'); always true: backpressure pauses the socket explicitly (onBody). */
  private onRead(data: Buffer): boolean {
    const ex = this.exchange;
    if (!ex) {
      // Bytes on an idle connection: the upstream is confused; never reuse it.
      this.pool.retire(this);
      return true;
    }
    try {
      this.parser.execute(data);
    } catch (err) {
      if (!(err instanceof ResponseParseError)) throw err;
      const started = this.parser.started;
      this.pool.retire(this);
      ex.fail(new UpstreamError(started ? "reset" : "connection_termination", `upstream protocol error: ${err.message}`, { cause: err }));
    }
    return true;
  }

  onHead(status: number, headers: ResponseHeaders, complete: boolean, close: boolean): void {
    const ex = this.exchange;
    if (!ex || ex.aborted) return;
    if (close) ex.reusable = false;
    const ka = headers["keep-alive"];
    if (typeof ka === "string") {
      const hint = /timeout=(\d+)/i.exec(ka);
      // Envoy-like safety margin: stop reusing a second before the upstream would close.
      if (hint) this.idleMs = Math.max(0, Math.min(this.pool.baseIdleMs, (Number(hint[1]) - 1) * 1000));
    }
    ex.handler.onHeaders(status, headers, complete);
  }

  onBody(chunk: Buffer): void {
    const ex = this.exchange;
    if (!ex || ex.aborted || ex.finished) return;
    // A copy when `chunk` is a view into READ_BUFFER, which the next read overwrites.
    if (!ex.handler.onData(this.ownReads ? chunk : Buffer.from(chunk)) && !ex.paused) {
      ex.paused = true;
      this.socket.pause();
    }
  }

  onEnd(trailers: ResponseHeaders | undefined): void {
    const ex = this.exchange;
    if (!ex || ex.aborted || ex.finished) return;
    ex.finished = true;
    const max = this.pool.o.maxRequestsPerConnection;
    if ((max > 0 && this.requests >= max) || this.parser.excess) ex.reusable = false;
    ex.handler.onEnd(trailers);
    // After the handler: a paused socket must flow again before reuse.
    if (ex.paused) this.socket.resume();
    if (!ex.reusable || ex.sending || this.idleMs === 0) {
      this.exchange = undefined;
      this.pool.retire(this);
    } else this.pool.release(this);
  }
}

class LeanPool implements ConnectionPool {
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
    const head = serializeRequestHead(req);
    const ex = typeof head === "string" ? new Exchange(this, req, handler, "", false) : new Exchange(this, req, handler, head.text, head.chunked);
    if (typeof head === "string") {
      // Nothing reaches the wire; the failure comes after request() returns, as any other would.
      queueMicrotask(() => ex.fail(new UpstreamError("reset", `invalid value in request header '${head}'`)));
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
    pipeRequestBody(socket, req.body, ex.chunked, req.onBodyBytes, ex);
  }
}

export function createLeanHttp1Pool(o: LeanHttp1PoolOptions): ConnectionPool {
  return new LeanPool(o);
}
