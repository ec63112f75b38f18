// One connection of the lean HTTP/1.1 pool and the exchange running on it:
// reads (net's onread into a shared buffer for plaintext, 'data' for TLS) go
// through the connection's response parser to the exchange's handler; the
// pool (lean-http1-pool.ts) decides reuse, retirement and queueing.
import * as net from "node:net";
import { connectUpstreamTls, type UpstreamTlsIdentity } from "../tls/upstream-tls.js";
import type { Http1PoolOptions } from "./http1-pool.js";
import { createResponseParser, ResponseParseError, type ResponseHeaders, type ResponseParser, type ResponseParserEvents } from "./http1-response-parser.js";
import type { BodyPipe } from "./http1-request-writer.js";
import { UpstreamError, type UpstreamHandler, type UpstreamRequest, type UpstreamStream } from "./upstream-stream.js";
import { applyTcpKeepalive } from "./tcp-keepalive.js";

/** What a connection and an exchange need from their pool. */
export interface LeanPoolSide {
  readonly o: Http1PoolOptions;
  readonly baseIdleMs: number;
  /** The exchange on `c` is done and the connection may serve the next one. */
  release(c: Conn): void;
  /** Close `c` for good. */
  retire(c: Conn): void;
  abort(ex: Exchange): void;
}

/**
 * Every lean-pool socket of the process reads into this one buffer. Safe because a read
 * callback runs to completion before the next read lands in it, and nothing keeps a
 * reference past the callback (the parser copies a partial head, the pool copies bodies).
 */
export const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export class Exchange implements UpstreamStream, BodyPipe {
  conn: Conn | undefined = undefined;
  aborted = false;
  finished = false;
  /** The request body is still being written: the connection can't be reused yet. */
  sending = false;
  reusable = true;
  paused = false;

  constructor(
    readonly pool: LeanPoolSide,
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

  upstreamTls(): UpstreamTlsIdentity | undefined {
    return this.conn?.tlsIdentity;
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

export class Conn implements ResponseParserEvents {
  readonly socket: net.Socket;
  readonly parser: ResponseParser;
  requests = 0;
  idleMs: number;
  idleSince = 0;
  connected = false;
  exchange: Exchange | undefined = undefined;
  /** The TLS connection's identity, read once when it is established (every exchange on it reports it). */
  tlsIdentity: UpstreamTlsIdentity | undefined = undefined;
  /** Reads arrive in buffers of their own (TLS 'data'), not in READ_BUFFER: bodies need no copy. */
  private readonly ownReads: boolean;
  private localText: string | undefined = undefined;

  /** `settle(err)`: the connection is established (TCP, or TLS handshake and server checks done) or failed. */
  constructor(
    readonly pool: LeanPoolSide,
    o: Http1PoolOptions,
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
    applyTcpKeepalive(this.socket, o.keepalive);
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
