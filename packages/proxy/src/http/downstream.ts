// One downstream request/response, whatever the codec: a thin adapter over
// node:http (HTTP/1.x) and node:http2 server streams, so the rest of the HCM
// is protocol-neutral. HTTP/2 uses the raw stream API for trailers-only
// responses and trailers (gRPC).
import type { IncomingMessage, ServerResponse } from "node:http";
import * as http2 from "node:http2";
import type { Readable } from "node:stream";
import type { Headers } from "./request-context.js";
import { LOCAL_RESET } from "./http2-guard.js";

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
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "http2-settings"]);

export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name);
}

function cleanResponseHeaders(headers: Headers): Headers {
  for (const k in headers) if (HOP_BY_HOP.has(k) || headers[k] === undefined) delete headers[k];
  return headers;
}

export function createHttp1Downstream(req: IncomingMessage, res: ServerResponse): Downstream {
  res.sendDate = false;
  // Envoy sends no `Keep-Alive: timeout=` header; Node adds one unless this (internal) field is 0.
  (res as unknown as { _keepAliveTimeout: number })._keepAliveTimeout = 0;
  const te = req.headers["transfer-encoding"];
  const cl = req.headers["content-length"];
  const hasBody = te !== undefined || (cl !== undefined && cl !== "0");
  let closed = false;
  res.once("close", () => (closed = true));
  return {
    protocol: req.httpVersion === "1.0" ? "HTTP/1.0" : "HTTP/1.1",
    body: hasBody ? req : null,
    get headersSent() {
      return res.headersSent;
    },
    get closed() {
      return closed || res.destroyed;
    },
    respond(status, headers, endStream) {
      if (res.destroyed) return;
      cleanResponseHeaders(headers);
      res.writeHead(status, headers as Record<string, string | string[]>);
      if (endStream) res.end();
    },
    write: (chunk) => res.write(chunk),
    onDrain: (cb) => res.once("drain", cb),
    end(trailers) {
      if (trailers && res.chunkedEncoding) res.addTrailers(trailers as Record<string, string>);
      res.end();
    },
    reset() {
      res.destroy();
      req.socket.destroy();
    },
    onClose: (l) => res.once("close", () => l.downstreamClosed()),
    setIdleTimeout(ms, l) {
      // Through the response: Node's server destroys a timed-out socket unless the request or
      // response handles 'timeout', and re-arms keep-alive timing itself after the response.
      res.setTimeout(ms, () => l.streamIdleTimedOut());
    },
    closeAfterResponse() {
      res.shouldKeepAlive = false;
    },
  };
}

export function createHttp2Downstream(stream: http2.ServerHttp2Stream, endStreamOnHeaders: boolean): Downstream {
  let trailersToSend: Headers | undefined;
  let closed = false;
  stream.once("close", () => (closed = true));
  stream.on("error", () => {});
  return {
    protocol: "HTTP/2",
    body: endStreamOnHeaders ? null : stream,
    get headersSent() {
      return stream.headersSent;
    },
    get closed() {
      return closed || stream.destroyed;
    },
    respond(status, headers, endStream, expectTrailers) {
      // The client may have reset the stream while we waited for the upstream.
      if (stream.destroyed || stream.closed) return;
      cleanResponseHeaders(headers);
      headers[":status"] = String(status);
      stream.respond(headers as http2.OutgoingHttpHeaders, { endStream, waitForTrailers: expectTrailers && !endStream });
      if (expectTrailers && !endStream) {
        stream.once("wantTrailers", () => stream.sendTrailers((trailersToSend ?? {}) as http2.OutgoingHttpHeaders));
      }
    },
    write: (chunk) => (stream.destroyed ? true : stream.write(chunk)),
    onDrain: (cb) => stream.once("drain", cb),
    end(trailers) {
      if (stream.destroyed) return;
      if (trailers) trailersToSend = cleanResponseHeaders(trailers);
      stream.end();
    },
    reset() {
      if (stream.destroyed) return;
      // Not a client reset: the rapid-reset guard must not count it (http2-guard.ts).
      (stream as unknown as Record<symbol, boolean>)[LOCAL_RESET] = true;
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    },
    onClose: (l) => stream.once("close", () => l.downstreamClosed()),
    setIdleTimeout(ms, l) {
      stream.setTimeout(ms, () => l.streamIdleTimedOut());
    },
    closeAfterResponse() {},
  };
}
