// The lean HTTP/1.1 codec's connections: reads request heads off a socket with
// the strict parser, runs one request at a time (pipelined requests wait in
// the buffer, as node:http does), frames Content-Length bodies, and hands a
// connection over to node:http, bytes untouched, the moment it sees anything
// outside the lean subset (lean-request-head.ts). Keep-alive idle and request
// headers timeouts are checked by one sweep per connection manager instead of
// a timer per socket.
import type { Socket } from "node:net";
import { parseLeanRequestHead, type LeanRequestHead } from "./lean-request-head.js";
import { LeanHttp1Stream, type LeanConnectionPort } from "./lean-http1-stream.js";

export interface LeanHttp1Options {
  /** The codec's head cap: beyond it node:http gets the bytes (and answers 431). */
  maxHeadBytes: number;
  /** The codec's header-count cap (validation's limit + 1, so validation sees the excess). */
  maxHeaders: number;
  /** request_headers_timeout; 0 disables. */
  headersTimeoutMs: number;
  /** HCM idle_timeout for a keep-alive connection with no request; 0 disables. */
  idleTimeoutMs: number;
}

export interface LeanHttp1Hooks {
  onRequest(stream: LeanHttp1Stream, head: LeanRequestHead, socket: Socket): void;
  /** node:http takes the connection from here; `pending` are the bytes it must read first. */
  handOff(socket: Socket, pending: Buffer | undefined): void;
  /** The client did not finish a request head in time; the connection is being closed. */
  onHeadersTimeout(socket: Socket): void;
}

export interface LeanHttp1 {
  /** `bufferLimitBytes`: the listener's per_connection_buffer_limit_bytes. */
  handle(socket: Socket, bufferLimitBytes: number): void;
  /** Destroys every connection the lean codec still owns. */
  closeAll(): void;
  /** Closes the connections with no request in progress and no head being read. */
  closeIdle(): void;
}

const LF = 10;
const MAX_BODY_BUFFER = 64 * 1024;

class LeanConnection implements LeanConnectionPort {
  gone = false;
  lastActive: number;
  /** When the head being read began (0: none pending). */
  headSince: number;
  stream: LeanHttp1Stream | undefined;
  private buf: Buffer | undefined;
  /** No LF arrived since the last incomplete parse: re-parsing can't get further. */
  private waitingForLf = false;
  private parsing = false;
  /** The socket is no longer the lean codec's (handed off, closing or closed). */
  private detached = false;
  private readonly onDataBound = (chunk: Buffer): void => this.onData(chunk);
  private readonly onCloseBound = (): void => this.onClose();

  constructor(
    readonly socket: Socket,
    private readonly owner: LeanHttp1Impl,
    private readonly bodyBufferBytes: number,
  ) {
    this.lastActive = Date.now();
    // Like node:http: a new connection's first head is timed from the accept.
    this.headSince = this.lastActive;
    socket.setNoDelay(true);
    socket.on("data", this.onDataBound);
    socket.once("close", this.onCloseBound);
    socket.on("error", ignore);
  }

  write(data: Buffer | string): boolean {
    // Header strings hold one wire byte per character: latin1 writes them back as those bytes
    // (UTF-8 would double-encode an upstream's `über`) and keeps the wire count their length.
    return typeof data === "string" ? this.socket.write(data, "latin1") : this.socket.write(data);
  }
  onceDrain(cb: () => void): void {
    this.socket.once("drain", cb);
  }
  cork(): void {
    this.socket.cork();
  }
  uncork(): void {
    this.socket.uncork();
  }
  pauseReading(): void {
    this.socket.pause();
  }
  resumeReading(): void {
    if (!this.gone) this.socket.resume();
  }
  destroy(): void {
    this.socket.destroy();
  }

  responseDone(stream: LeanHttp1Stream): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    this.lastActive = Date.now();
    if (stream.closeAfter || stream.bodyRemaining > 0) {
      // Connection: close, or a body the client is still sending that nobody will read.
      this.detach();
      this.socket.end();
      return;
    }
    if (this.buf) this.headSince = this.lastActive;
    this.resumeReading();
    if (this.buf && !this.parsing) this.process();
  }

  private onData(chunk: Buffer): void {
    this.lastActive = Date.now();
    const s = this.stream;
    if (s && s.bodyRemaining > 0) {
      const rest = s.feedBody(chunk);
      if (!rest) return;
      chunk = rest;
    }
    if (this.buf === undefined) {
      this.buf = chunk;
      this.waitingForLf = false;
    } else {
      this.buf = Buffer.concat([this.buf, chunk]);
      if (this.waitingForLf && chunk.indexOf(LF) >= 0) this.waitingForLf = false;
    }
    if (this.stream) {
      // Pipelined bytes while a response is in flight: hold them, but not without bound.
      if (this.buf.length > this.owner.options.maxHeadBytes) this.socket.pause();
      return;
    }
    if (this.headSince === 0) this.headSince = this.lastActive;
    this.process();
  }

  /** Starts every complete request in the buffer, one at a time. */
  private process(): void {
    this.parsing = true;
    try {
      const o = this.owner.options;
      while (!this.stream && this.buf && !this.detached) {
        if (this.waitingForLf && this.buf.length <= o.maxHeadBytes) return;
        const head = parseLeanRequestHead(this.buf, 0, o.maxHeadBytes, o.maxHeaders);
        if (head === "incomplete") {
          this.waitingForLf = true;
          return;
        }
        if (head === "handoff") return this.handOff();
        this.headSince = 0;
        let rest = head.end < this.buf.length ? this.buf.subarray(head.end) : undefined;
        this.buf = undefined;
        const stream = new LeanHttp1Stream(this, head.method, head.contentLength, head.keepAlive, this.bodyBufferBytes, head.end);
        this.stream = stream;
        if (rest && stream.bodyRemaining > 0) rest = stream.feedBody(rest);
        this.buf = rest;
        if (rest) this.headSince = Date.now();
        this.owner.hooks.onRequest(stream, head, this.socket);
      }
    } finally {
      this.parsing = false;
    }
  }

  private handOff(): void {
    const pending = this.buf;
    this.buf = undefined;
    this.detach();
    this.owner.hooks.handOff(this.socket, pending);
  }

  /** The lean codec lets go of the socket (node:http takes it, or it is closing). */
  private detach(): void {
    this.detached = true;
    this.socket.off("data", this.onDataBound);
    this.socket.off("close", this.onCloseBound);
    this.owner.forget(this);
  }

  private onClose(): void {
    this.gone = true;
    this.detached = true;
    this.owner.forget(this);
    this.stream?.connectionGone();
  }

  /** The sweep: request headers timeout and keep-alive idle timeout. */
  check(now: number, o: LeanHttp1Options): void {
    if (this.stream) {
      this.stream.checkCoarseIdle(now);
      return;
    }
    if (this.headSince > 0) {
      if (o.headersTimeoutMs > 0 && now - this.headSince >= o.headersTimeoutMs) {
        this.detach();
        this.owner.hooks.onHeadersTimeout(this.socket);
      }
    } else if (o.idleTimeoutMs > 0 && now - this.lastActive >= o.idleTimeoutMs) {
      this.detach();
      this.socket.destroy();
    }
  }
}

class LeanHttp1Impl implements LeanHttp1 {
  private readonly conns = new Set<LeanConnection>();
  private sweep: NodeJS.Timeout | undefined;
  private readonly sweepMs: number;

  constructor(
    readonly options: LeanHttp1Options,
    readonly hooks: LeanHttp1Hooks,
  ) {
    const periods = [options.headersTimeoutMs, options.idleTimeoutMs].filter((ms) => ms > 0).map((ms) => Math.floor(ms / 4));
    this.sweepMs = Math.max(50, Math.min(1000, ...periods));
  }

  handle(socket: Socket, bufferLimitBytes: number): void {
    // The body buffer never exceeds the connection's limit (and a read is at most 64 KiB anyway).
    const bodyBufferBytes = Math.max(1024, Math.min(MAX_BODY_BUFFER, bufferLimitBytes));
    this.conns.add(new LeanConnection(socket, this, bodyBufferBytes));
    // Always swept: besides the headers and keep-alive timeouts, the sweep times long
    // stream idle timeouts (lean-http1-stream.ts: a timer per request is what it avoids).
    if (!this.sweep) {
      this.sweep = setInterval(() => this.check(), this.sweepMs);
      this.sweep.unref();
    }
  }

  forget(c: LeanConnection): void {
    this.conns.delete(c);
    if (this.conns.size === 0 && this.sweep) {
      clearInterval(this.sweep);
      this.sweep = undefined;
    }
  }

  closeAll(): void {
    for (const c of [...this.conns]) c.socket.destroy();
  }

  closeIdle(): void {
    for (const c of [...this.conns]) if (!c.stream && c.headSince === 0) c.socket.end();
  }

  private check(): void {
    const now = Date.now();
    for (const c of [...this.conns]) c.check(now, this.options);
  }
}

function ignore(): void {}

export function createLeanHttp1(options: LeanHttp1Options, hooks: LeanHttp1Hooks): LeanHttp1 {
  return new LeanHttp1Impl(options, hooks);
}
