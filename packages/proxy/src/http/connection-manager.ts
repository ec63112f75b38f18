// The HTTP connection manager of one filter chain: takes accepted sockets,
// picks the codec (HTTP/1.1, or HTTP/2 by prior knowledge / ALPN), and turns
// each request into a RequestContext for handleStream.
import * as http from "node:http";
import * as http2 from "node:http2";
import type { Socket } from "node:net";
import type { ConnInfo } from "../listener/conn-info.js";
import { createHttp1Downstream, createHttp2Downstream, type Downstream } from "./downstream.js";
import { countRejection } from "./hardening-stats.js";
import { guardHttp2Session, http2ServerOptions } from "./http2-guard.js";
import { guardHttp2Frames } from "./http2-frame-guard.js";
import type { HcmRuntime } from "./hcm-runtime.js";
import { handleStream } from "./http-stream.js";
import { newContext, type RequestContext } from "./request-context.js";

export { newContext };
import { handleWebSocketUpgrade } from "./websocket.js";
import { createLeanHttp1 } from "./lean-http1-connection.js";
import { DEFAULT_CONNECTION_BUFFER_LIMIT } from "../runtime/buffer-limit.js";
import { peek } from "../listener/peek.js";
import { validateRequestHead, type RequestProtocol, type RequestValidation } from "./validate-request.js";
import { estimateHeadersFrame, markSocketHandOff } from "./wire-bytes.js";

const STATUS_BODY: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
};

/** The port of an `ip:port` / `[v6]:port` address. */
function portOf(address: string): number | undefined {
  const c = address.lastIndexOf(":");
  const n = c >= 0 ? Number(address.slice(c + 1)) : NaN;
  return Number.isInteger(n) ? n : undefined;
}

const LOCAL_PORT = Symbol("weft.localPort");
type PortConn = ConnInfo & { [LOCAL_PORT]?: number | null };

/** The connection's local port, parsed once per connection rather than per request. */
function localPortOf(conn: ConnInfo): number | undefined {
  const c = conn as PortConn;
  let p = c[LOCAL_PORT];
  if (p === undefined) c[LOCAL_PORT] = p = portOf(conn.localAddress) ?? null;
  return p ?? undefined;
}

/** Raw header list from Node's parsed HTTP/2 headers (only when the codec did not hand one over). */
function flatten(src: http2.IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const k in src) {
    const v = src[k];
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) out.push(k, String(x));
  }
  return out;
}

/** A codec-level refusal: one plain-text response, then the connection closes. */
function refuseConnection(socket: Socket, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-length: ${reason.length}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${reason}`);
}

/** WEFT_PROXY_NODE_HTTP1=1 serves every HTTP/1.x request through node:http (for comparison). */
const useLeanHttp1 = process.env.WEFT_PROXY_NODE_HTTP1 !== "1";

export const CONN_INFO = Symbol.for("weft.connInfo");
const REQUESTS = Symbol("weft.requestsOnConnection");
type InfoSocket = Socket & { [CONN_INFO]?: ConnInfo; [REQUESTS]?: number };

export interface ConnectionManager {
  /** `firstBytes` were already peeked and unshifted by the listener. */
  handle(socket: Socket, conn: ConnInfo, firstBytes: Buffer | undefined): void;
  drain(): void;
  close(): void;
}

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** True/false once decidable, undefined while the bytes are a strict prefix of the preface. */
export function isHttp2Preface(buf: Buffer): boolean | undefined {
  const n = Math.min(buf.length, H2_PREFACE.length);
  if (buf.compare(H2_PREFACE, 0, n, 0, n) !== 0) return false;
  return n === H2_PREFACE.length ? true : undefined;
}

export function createConnectionManager(rt: HcmRuntime): ConnectionManager {
  const cfg = rt.config;
  const limits = cfg.limits;
  const headersTimeoutMs = cfg.requestHeadersTimeoutMs;
  const h1 = http.createServer({
    requestTimeout: 0,
    // request_headers_timeout (slowloris). Node checks it on a timer, so check often enough.
    headersTimeout: headersTimeoutMs,
    connectionsCheckingInterval: headersTimeoutMs > 0 ? Math.max(100, Math.min(1000, Math.floor(headersTimeoutMs / 4))) : 30_000,
    keepAliveTimeout: cfg.idleTimeoutMs,
    // The codec's own cap leaves room for the request line; validate-request.ts counts the
    // header bytes exactly as max_request_headers_kb means them and answers 431.
    maxHeaderSize: limits.maxRequestHeadersBytes + 8192,
    // Never let the codec drop headers silently: one over the limit reaches validation, which refuses it.
    maxHeadersCount: limits.maxHeadersCount + 1,
  } as http.ServerOptions);

  // Node's defaults for these are far below Envoy's; our own timers govern.
  h1.timeout = 0;
  // This server never listen()s (the listener hands it sockets), and Node starts tracking
  // connections — the headers-timeout sweep and closeAllConnections() — on 'listening'.
  h1.emit("listening");
  const h2 = http2.createServer(http2ServerOptions(limits));
  const sessions = new Set<http2.ServerHttp2Session>();
  let draining = false;

  /** The request's context: the validated head, or the original one carrying the refusal. */
  const contextFor = (v: RequestValidation, method: string, target: string, scheme: string, protocol: string, conn: ConnInfo, ds: Downstream): RequestContext => {
    if (v.ok) {
      if (v.droppedUnderscoreHeaders > 0) (protocol === "HTTP/2" ? rt.stats.guard.http2 : rt.stats.guard.http1).droppedHeadersWithUnderscores.inc(v.droppedUnderscoreHeaders);
      const ctx = newContext(v.method, v.path, v.authority, protocol === "HTTP/2" ? v.scheme ?? scheme : scheme, protocol, v.headers, conn);
      if (v.redirect) {
        // UNESCAPE_AND_REDIRECT: send the client to the unescaped path (Envoy: 307; gRPC can't follow, so refuse).
        rt.stats.guard.pathRedirect.inc();
        const grpc = String(v.headers["content-type"] ?? "").startsWith("application/grpc");
        ctx.rejected = grpc
          ? { status: 400, body: "", details: "path_normalization_failed" }
          : { status: 307, body: "", details: "path_redirect", headers: { location: v.path } };
      }
      return ctx;
    }
    countRejection(rt.stats.guard, v.details, v.status);
    // The refused head is logged as received; nothing from it is trusted or forwarded.
    const ctx = newContext(method, target, "", scheme, protocol, {}, conn);
    ctx.rejected = { status: v.status, body: STATUS_BODY[v.status] ?? "", details: v.details };
    // HTTP/1.1 framing may be ambiguous after a refused head: close the connection (Envoy).
    ds.closeAfterResponse();
    return ctx;
  };

  /** One HTTP/1.x request from either codec: count it, validate its head, run it. */
  const serveHttp1 = (ds: Downstream, socket: InfoSocket, method: string | undefined, target: string | undefined, rawHeaders: string[]): void => {
    const conn = socket[CONN_INFO]!;
    // max_requests_per_connection: the Nth response carries `connection: close` and ends the connection.
    if (limits.maxRequestsPerConnection > 0) {
      const n = (socket[REQUESTS] ?? 0) + 1;
      socket[REQUESTS] = n;
      if (n >= limits.maxRequestsPerConnection) ds.closeAfterResponse();
    }
    const v = validateRequestHead({ protocol: ds.protocol as RequestProtocol, method, target, rawHeaders, localPort: localPortOf(conn) }, limits);
    handleStream(ds, contextFor(v, method ?? "GET", target ?? "/", "http", ds.protocol, conn, ds), rt);
  };

  h1.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    serveHttp1(createHttp1Downstream(req, res), req.socket as InfoSocket, req.method, req.url, req.rawHeaders);
  });

  // The common case (keep-alive requests without Transfer-Encoding, Upgrade or Expect) skips
  // node:http; anything else is handed to it, bytes untouched (lean-request-head.ts).
  const lean = useLeanHttp1
    ? createLeanHttp1(
        { maxHeadBytes: limits.maxRequestHeadersBytes + 8192, maxHeaders: limits.maxHeadersCount + 1, headersTimeoutMs, idleTimeoutMs: cfg.idleTimeoutMs },
        {
          onRequest: (stream, head, socket) => serveHttp1(stream, socket as InfoSocket, head.method, head.target, head.rawHeaders),
          handOff(socket, pending) {
            // node:http's requests on this socket count its bytes from here (wire-bytes.ts).
            markSocketHandOff(socket, pending?.length ?? 0);
            socket.pause();
            if (pending) socket.unshift(pending);
            h1.emit("connection", socket);
            socket.resume();
          },
          onHeadersTimeout(socket) {
            rt.stats.guard.rqHeaderTimeout.inc();
            refuseConnection(socket, 408, "Request Timeout");
          },
        },
      )
    : undefined;

  h1.on("upgrade", (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const conn = (socket as InfoSocket)[CONN_INFO]!;
    const protocol: RequestProtocol = req.httpVersion === "1.0" ? "HTTP/1.0" : "HTTP/1.1";
    const v = validateRequestHead({ protocol, method: req.method, target: req.url, rawHeaders: req.rawHeaders, localPort: localPortOf(conn) }, limits);
    if (!v.ok || v.redirect) {
      const status = v.ok ? 400 : v.status;
      if (!v.ok) countRejection(rt.stats.guard, v.details, v.status);
      refuseConnection(socket, status, STATUS_BODY[status] ?? "");
      return;
    }
    handleWebSocketUpgrade(req, socket, head, conn, rt, () => newContext(v.method, v.path, v.authority, "http", protocol, v.headers, conn));
  });
  h1.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || err.code === "ECONNRESET") {
      socket.destroy();
      return;
    }
    const guard = rt.stats.guard;
    let status: number;
    let reason: string;
    if (err.code === "HPE_HEADER_OVERFLOW") {
      guard.rqHeadersTooLarge.inc();
      [status, reason] = [431, "Request Header Fields Too Large"];
    } else if (err.code === "ERR_HTTP_REQUEST_TIMEOUT" || err.code === "HPE_HEADERS_TIMEOUT") {
      guard.rqHeaderTimeout.inc();
      [status, reason] = [408, "Request Timeout"];
    } else {
      guard.cxProtocolError.inc();
      [status, reason] = err.code === "HPE_INVALID_TRANSFER_ENCODING" && !/chunked/i.test(String((err as { rawPacket?: Buffer }).rawPacket ?? "")) ? [501, "Not Implemented"] : [400, "Bad Request"];
    }
    // The parser is lost after a malformed head: answer once, then close (Envoy's codec error reply).
    refuseConnection(socket, status, reason);
  });

  // The connection each HTTP/2 session serves. The session's socket may be the frame guard's
  // wrapper rather than the listener's socket, so it is looked up here, not on the socket.
  const sessionConn = new WeakMap<http2.Http2Session, ConnInfo>();
  let accepting: ConnInfo | undefined;
  h2.on("session", (session: http2.ServerHttp2Session) => {
    // Emitted synchronously inside h2.emit("connection"), while `accepting` is set.
    if (accepting) sessionConn.set(session, accepting);
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    guardHttp2Session(session, limits, rt.stats.guard, rt.logger);
    session.on("error", () => {});
    if (cfg.idleTimeoutMs > 0) {
      // idle_timeout: close the connection only when it has had no active streams for this long.
      let active = 0;
      session.on("stream", (s: http2.ServerHttp2Stream) => {
        active++;
        s.once("close", () => active--);
      });
      session.setTimeout(cfg.idleTimeoutMs, () => {
        if (active === 0) session.close();
      });
    }
    if (draining) session.goaway();
  });
  h2.on("stream", (stream: http2.ServerHttp2Stream, src: http2.IncomingHttpHeaders, flags: number, rawHeaders?: string[]) => {
    // Node emits 'stream' on the next tick: a stream the peer already broke in the same read
    // (DATA beyond content-length, a reset) is destroyed by now, its 'error' pending. Without a
    // listener that error would take the whole process down.
    stream.on("error", () => {});
    if (stream.destroyed) return;
    const conn = stream.session ? sessionConn.get(stream.session) : undefined;
    if (!conn) {
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    const endStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    const raw = rawHeaders ?? flatten(src);
    const ds = createHttp2Downstream(stream, endStream, estimateHeadersFrame(raw));
    const v = validateRequestHead({ protocol: "HTTP/2", rawHeaders: raw, localPort: localPortOf(conn) }, cfg.limits);
    const scheme = String(src[":scheme"] ?? "http");
    handleStream(ds, contextFor(v, String(src[":method"] ?? "GET"), String(src[":path"] ?? "/"), scheme, "HTTP/2", conn, ds), rt);
  });
  h2.on("sessionError", () => {});

  return {
    handle(socket, conn, firstBytes) {
      (socket as InfoSocket)[CONN_INFO] = conn;
      rt.stats.cxTotal.inc();
      rt.stats.cxActive.inc();
      socket.once("close", () => rt.stats.cxActive.dec());
      const dispatch = (first: Buffer | undefined): void => {
        let useH2: boolean;
        if (cfg.codec === "http2") useH2 = true;
        else if (cfg.codec === "http1") useH2 = false;
        else useH2 = conn.alpn === "h2" || conn.alpn === "h2c" || (first !== undefined && isHttp2Preface(first) === true);
        if (useH2) {
          rt.stats.cxHttp2Total.inc();
          accepting = conn;
          try {
            // max_inbound_window_update_frames_per_data_frame_sent, when configured (opt-in: see request-limits.ts).
            h2.emit("connection", limits.http2.enforceWindowUpdateLimit ? guardHttp2Frames(socket, limits.http2, rt.stats.guard.http2, rt.logger) : socket);
          } finally {
            accepting = undefined;
          }
        } else {
          rt.stats.cxHttp1Total.inc();
          if (lean) lean.handle(socket, conn.bufferLimitBytes ?? DEFAULT_CONNECTION_BUFFER_LIMIT);
          else h1.emit("connection", socket);
        }
        socket.resume();
      };
      // Codec AUTO without an inspector verdict: sniff the HTTP/2 connection preface ourselves.
      if (cfg.codec === "auto" && conn.alpn === undefined && (firstBytes === undefined || isHttp2Preface(firstBytes) === undefined)) {
        void peek(socket, (b) => isHttp2Preface(b) !== undefined, 15_000).then(({ buf }) => {
          if (!socket.destroyed) dispatch(buf);
        });
      } else dispatch(firstBytes);
    },
    drain() {
      draining = true;
      for (const s of sessions) s.goaway();
      // HTTP/1.1: each connection's next response carries `connection: close` (rt.draining());
      // one that stays idle would keep this old chain alive until its idle timeout, so it is
      // closed after the HCM's drain_timeout (Envoy closes what is left when its drain time ends).
      const idle = setTimeout(() => {
        h1.closeIdleConnections();
        lean?.closeIdle();
      }, cfg.drainTimeoutMs);
      idle.unref();
    },
    close() {
      for (const s of sessions) s.destroy();
      lean?.closeAll();
      h1.closeAllConnections();
      // Stops the connection-tracking sweep started above.
      h1.close();
    },
  };
}
