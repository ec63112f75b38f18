// One downstream request/response, whatever the codec: a thin adapter over
// node:http (HTTP/1.x) and node:http2 server streams, so the rest of the HCM
// is protocol-neutral. HTTP/2 uses the raw stream API for trailers-only
// responses and trailers (gRPC).
import type { IncomingMessage, ServerResponse } from "node:http";
import * as http2 from "node:http2";
import type { Readable } from "node:stream";
import type { Headers } from "./request-context.js";
import { LOCAL_RESET } from "./http2-guard.js";
import { estimateDataFrames, estimateHeadersFrameOf, H2_FRAME_HEADER, H2_RST_STREAM, settleSocketWireBytes, type WireByteCounts } from "./wire-bytes.js";

/** What the stream's owner hears from its codec; an object (the exchange itself), not closures per request. */
export interface StreamListener {
  downstreamClosed(): void;
  streamIdleTimedOut(): void;
}

export interface Downstream {
  readonly protocol: string;
  /** Request body, or null when the request carries none. */
  readonly body: Readable | null;
  readonly headersSent: boolean;
  readonly closed: boolean;
  respond(status: number, headers: Headers, endStream: boolean, expectTrailers: boolean): void;
  /** False when the caller should wait for onDrain. */
  write(chunk: Buffer): boolean;
  onDrain(cb: () => void): void;
  end(trailers: Headers | undefined): void;
  /** Abort the downstream stream (reset / close the connection). */
  reset(): void;
  /**
   * The stream closed before its response completed (client gone, reset). After a completed
   * response a codec may or may not call it: listeners must treat a late call as a no-op.
   */
  onClose(listener: StreamListener): void;
  /** stream_idle_timeout: calls `listener.streamIdleTimedOut()` after `ms` without traffic either way. */
  setIdleTimeout(ms: number, listener: StreamListener): void;
  /** HTTP/1.1: close the connection after this response (drain). */
  closeAfterResponse(): void;
  /**
   * Puts the stream's bytes on the downstream wire on `info` (Envoy's downstream BytesMeter,
   * wire-bytes.ts); called once, when the stream ends. Exact for HTTP/1, estimated for HTTP/2.
   */
  settleWireBytes(info: WireByteInfo): void;
}

/** What settleWireBytes() reads and writes: the request's StreamInfo. */
export interface WireByteInfo extends WireByteCounts {
  /** Request body bytes the proxy read (HTTP/2's estimate builds on them). */
  readonly bytesReceived: number;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "http2-settings"]);

export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name);
}

function cleanResponseHeaders(headers: Headers): Headers {
  for (const k in headers) if (HOP_BY_HOP.has(k) || headers[k] === undefined) delete headers[k];
  return headers;
}

/** node:http's request and response as a Downstream (HTTP/1.0, chunked requests, upgrades…). */
class Http1Downstream implements Downstream {
  readonly protocol: string;
  readonly body: Readable | null;
  private closedFlag = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    res.sendDate = false;
    // Envoy sends no `Keep-Alive: timeout=` header; Node adds one unless this (internal) field is 0.
    (res as unknown as { _keepAliveTimeout: number })._keepAliveTimeout = 0;
    const te = req.headers["transfer-encoding"];
    const cl = req.headers["content-length"];
    this.protocol = req.httpVersion === "1.0" ? "HTTP/1.0" : "HTTP/1.1";
    this.body = te !== undefined || (cl !== undefined && cl !== "0") ? req : null;
    res.once("close", () => (this.closedFlag = true));
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }
  get closed(): boolean {
    return this.closedFlag || this.res.destroyed;
  }
  respond(status: number, headers: Headers, endStream: boolean): void {
    const res = this.res;
    if (res.destroyed) return;
    cleanResponseHeaders(headers);
    res.writeHead(status, headers as Record<string, string | string[]>);
    if (endStream) res.end();
  }
  write(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }
  onDrain(cb: () => void): void {
    this.res.once("drain", cb);
  }
  end(trailers: Headers | undefined): void {
    const res = this.res;
    if (trailers && res.chunkedEncoding) res.addTrailers(trailers as Record<string, string>);
    res.end();
  }
  reset(): void {
    this.res.destroy();
    this.req.socket.destroy();
  }
  onClose(l: StreamListener): void {
    this.res.once("close", () => l.downstreamClosed());
  }
  setIdleTimeout(ms: number, l: StreamListener): void {
    // Through the response: Node's server destroys a timed-out socket unless the request or
    // response handles 'timeout', and re-arms keep-alive timing itself after the response.
    this.res.setTimeout(ms, () => l.streamIdleTimedOut());
  }
  closeAfterResponse(): void {
    this.res.shouldKeepAlive = false;
  }
  settleWireBytes(info: WireByteInfo): void {
    // Exact for requests one after the other: the socket's counters since the last request (wire-bytes.ts).
    settleSocketWireBytes(this.req.socket, info);
  }
}

export function createHttp1Downstream(req: IncomingMessage, res: ServerResponse): Downstream {
  return new Http1Downstream(req, res);
}

/** A node:http2 server stream as a Downstream; its wire bytes are estimates (wire-bytes.ts). */
class Http2Downstream implements Downstream {
  readonly protocol = "HTTP/2";
  readonly body: Readable | null;
  private trailersToSend: Headers | undefined = undefined;
  private closedFlag = false;
  /** Trailers were announced (waitForTrailers): they, not an empty DATA frame, end the stream. */
  private trailersExpected = false;
  /** The response's end of stream was sent (or asked for). */
  private outEnded = false;
  private wroteData = false;
  private wireIn: number;
  private wireOut = 0;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly endStreamOnHeaders: boolean,
    /** The request's HEADERS frame, estimated by the caller from the raw header list. */
    requestHeadersFrame: number,
  ) {
    this.body = endStreamOnHeaders ? null : stream;
    this.wireIn = requestHeadersFrame;
    stream.once("close", () => (this.closedFlag = true));
    stream.on("error", ignore);
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }
  get closed(): boolean {
    return this.closedFlag || this.stream.destroyed;
  }
  respond(status: number, headers: Headers, endStream: boolean, expectTrailers: boolean): void {
    const stream = this.stream;
    // The client may have reset the stream while we waited for the upstream.
    if (stream.destroyed || stream.closed) return;
    cleanResponseHeaders(headers);
    headers[":status"] = String(status);
    const waitForTrailers = expectTrailers && !endStream;
    stream.respond(headers as http2.OutgoingHttpHeaders, { endStream, waitForTrailers });
    this.wireOut += estimateHeadersFrameOf(headers);
    this.outEnded = endStream;
    if (waitForTrailers) {
      this.trailersExpected = true;
      stream.once("wantTrailers", () => stream.sendTrailers((this.trailersToSend ?? {}) as http2.OutgoingHttpHeaders));
    }
  }
  write(chunk: Buffer): boolean {
    const stream = this.stream;
    if (stream.destroyed) return true;
    this.wireOut += estimateDataFrames(chunk.length);
    if (chunk.length > 0) this.wroteData = true;
    return stream.write(chunk);
  }
  onDrain(cb: () => void): void {
    this.stream.once("drain", cb);
  }
  end(trailers: Headers | undefined): void {
    const stream = this.stream;
    if (stream.destroyed) return;
    if (trailers) this.trailersToSend = cleanResponseHeaders(trailers);
    if (!this.outEnded) {
      this.outEnded = true;
      // The trailers' HEADERS frame ends the stream; else END_STREAM rides on the last DATA frame
      // (node:http2 holds it back for the end), or on an empty one when there was none.
      if (this.trailersExpected) this.wireOut += estimateHeadersFrameOf(this.trailersToSend ?? {});
      else if (!this.wroteData) this.wireOut += H2_FRAME_HEADER;
    }
    stream.end();
  }
  reset(): void {
    const stream = this.stream;
    if (stream.destroyed) return;
    // Not a client reset: the rapid-reset guard must not count it (http2-guard.ts).
    (stream as unknown as Record<symbol, boolean>)[LOCAL_RESET] = true;
    stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    this.wireOut += H2_RST_STREAM;
  }
  onClose(l: StreamListener): void {
    this.stream.once("close", () => l.downstreamClosed());
  }
  setIdleTimeout(ms: number, l: StreamListener): void {
    this.stream.setTimeout(ms, () => l.streamIdleTimedOut());
  }
  closeAfterResponse(): void {}
  settleWireBytes(info: WireByteInfo): void {
    // The request body: exact DATA bytes (those the proxy read), estimated frames; at least the
    // frame that ended the stream when the HEADERS frame did not.
    const body = info.bytesReceived;
    info.wireBytesReceived = this.wireIn + (this.endStreamOnHeaders ? 0 : body > 0 ? estimateDataFrames(body) : H2_FRAME_HEADER);
    info.wireBytesSent = this.wireOut;
  }
}

/** `requestHeadersFrame`: estimateHeadersFrame() of the request's raw header list. */
export function createHttp2Downstream(stream: http2.ServerHttp2Stream, endStreamOnHeaders: boolean, requestHeadersFrame: number): Downstream {
  return new Http2Downstream(stream, endStreamOnHeaders, requestHeadersFrame);
}

function ignore(): void {}
