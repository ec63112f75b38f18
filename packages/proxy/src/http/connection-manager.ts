// The HTTP connection manager of one filter chain: takes accepted sockets,
// picks the codec (HTTP/1.1, or HTTP/2 by prior knowledge / ALPN), and turns
// each request into a RequestContext for handleStream.
import * as http from "node:http";
import * as http2 from "node:http2";
import type { Socket } from "node:net";
import type { StreamInfo } from "../contracts.js";
import type { ConnInfo } from "../listener/conn-info.js";
import { createHttp1Downstream, createHttp2Downstream, isHopByHop } from "./downstream.js";
import type { HcmRuntime } from "./hcm-runtime.js";
import { handleStream } from "./http-stream.js";
import type { Headers, RequestContext } from "./request-context.js";
import { handleWebSocketUpgrade } from "./websocket.js";
import { peek } from "../listener/peek.js";

export const CONN_INFO = Symbol.for("weft.connInfo");
type InfoSocket = Socket & { [CONN_INFO]?: ConnInfo };

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
  const h1 = http.createServer({
    requestTimeout: 0,
    headersTimeout: cfg.requestHeadersTimeoutMs > 0 ? cfg.requestHeadersTimeoutMs : 0,
    keepAliveTimeout: cfg.idleTimeoutMs,
    maxHeaderSize: cfg.maxRequestHeadersKb * 1024,
  });
  // Node's defaults for these are far below Envoy's; our own timers govern.
  h1.timeout = 0;
  const h2 = http2.createServer({ maxSessionMemory: 64 });
  const sessions = new Set<http2.ServerHttp2Session>();
  let draining = false;

  h1.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket as InfoSocket;
    const conn = socket[CONN_INFO]!;
    const headers: Headers = {};
    const src = req.headers;
    for (const k in src) {
      // Expect: 100-continue is answered here (Node sends the 100), as Envoy does by default.
      if (k === "host" || k === "expect") continue;
      if (isHopByHop(k) && !(k === "te" && src[k] === "trailers")) continue;
      headers[k] = src[k];
    }
    const ds = createHttp1Downstream(req, res);
    const ctx = newContext(req.method ?? "GET", req.url ?? "/", src.host ?? "", "http", ds.protocol, headers, conn);
    handleStream(ds, ctx, rt);
  });
  h1.on("upgrade", (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const conn = (socket as InfoSocket)[CONN_INFO]!;
    handleWebSocketUpgrade(req, socket, head, conn, rt, newContext);
  });
  h1.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    if (socket.writable && err.code !== "ECONNRESET") {
      socket.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 11\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nBad Request");
    } else socket.destroy();
  });

  h2.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
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
  h2.on("stream", (stream: http2.ServerHttp2Stream, src: http2.IncomingHttpHeaders, flags: number) => {
    const socket = stream.session?.socket as InfoSocket | undefined;
    const conn = socket?.[CONN_INFO];
    if (!conn) {
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    const headers: Headers = {};
    for (const k in src) {
      if (k[0] === ":" || k === "host") continue;
      if (isHopByHop(k) && !(k === "te" && src[k] === "trailers")) continue;
      headers[k] = src[k];
    }
    const endStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    const ds = createHttp2Downstream(stream, endStream);
    const authority = (src[":authority"] as string | undefined) ?? (src.host as string | undefined) ?? "";
    const ctx = newContext(String(src[":method"] ?? "GET"), String(src[":path"] ?? "/"), authority, String(src[":scheme"] ?? "http"), "HTTP/2", headers, conn);
    handleStream(ds, ctx, rt);
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
          h2.emit("connection", socket);
        } else {
          rt.stats.cxHttp1Total.inc();
          h1.emit("connection", socket);
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
    },
    close() {
      for (const s of sessions) s.destroy();
      h1.closeAllConnections();
    },
  };
}

export function newContext(
  method: string,
  path: string,
  authority: string,
  scheme: string,
  protocol: string,
  headers: Headers,
  conn: ConnInfo,
): RequestContext {
  const info: StreamInfo = {
    startTime: Date.now(),
    protocol,
    responseFlags: [],
    bytesReceived: 0,
    bytesSent: 0,
    downstreamLocalAddress: conn.localAddress,
    downstreamRemoteAddress: conn.remoteAddress,
    downstreamDirectRemoteAddress: conn.remoteAddress,
    requestedServerName: conn.sni,
  };
  return {
    method,
    path,
    authority,
    scheme,
    protocol,
    headers,
    downstreamRemoteIp: conn.remoteIp,
    downstreamRemotePort: conn.remotePort,
    downstreamLocalAddress: conn.localAddress,
    originalDst: conn.originalDst,
    external: false,
    info,
    conn,
    attempt: 1,
  };
}
