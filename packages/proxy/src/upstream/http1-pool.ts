// HTTP/1.1 upstream pool on undici's Pool: keep-alive, max connections
// (circuit breaker), max_requests_per_connection, connect timeout. The
// connector is wrapped so cluster stats see every connection.
import { createRequire } from "node:module";
import type { Dispatcher, buildConnector as BuildConnector } from "undici";
import type { Socket } from "node:net";
import {
  UpstreamError,
  isConnectError,
  transportReasonOf,
  type ConnectionPool,
  type UpstreamHandler,
  type UpstreamRequest,
  type UpstreamStream,
} from "./upstream-stream.js";
import type { ConnectionEvents } from "./http2-pool.js";
import { connectUpstreamTls, upstreamTlsIdentity, type UpstreamTls, type UpstreamTlsIdentity } from "../tls/upstream-tls.js";
import type { TcpKeepaliveSpec } from "./tcp-keepalive.js";

export interface Http1PoolOptions {
  ip: string;
  port: number;
  pipe?: string;
  connectTimeoutMs: number;
  /** Source address of upstream connections (upstream_bind_config). */
  localAddress?: string;
  maxConnections: number;
  maxRequestsPerConnection: number;
  idleTimeoutMs: number;
  events: ConnectionEvents;
  /** The endpoint's UpstreamTlsContext (transport_socket / transport_socket_matches); plaintext when absent. */
  tls?: UpstreamTls;
  /** The cluster's upstream_connection_options.tcp_keepalive. */
  keepalive?: TcpKeepaliveSpec;
}

// Loaded on first use: plaintext HTTP/1.1 goes through lean-http1-pool.ts, and undici costs
// ~19 MB of RSS and startup time in a proxy that never opens a TLS HTTP/1.1 upstream.
let undici: typeof import("undici") | undefined;
const loadUndici = (): typeof import("undici") => (undici ??= createRequire(import.meta.url)("undici") as typeof import("undici"));

export function createHttp1Pool(o: Http1PoolOptions): ConnectionPool {
  const { Pool, buildConnector } = loadUndici();
  const base = buildConnector({ timeout: o.connectTimeoutMs, socketPath: o.pipe });
  // undici passes the source address per connection (its Client `localAddress` option).
  const tls = o.tls;
  const connectTls: BuildConnector.connector = (_opts, cb) => {
    // TLS is ours (SNI, ALPN, client cert from SDS, SAN checks), not undici's: the secure context is read per connection so rotated secrets apply to new connections.
    let done = false;
    const s = connectUpstreamTls({ host: o.ip, port: o.port, pipe: o.pipe, localAddress: o.localAddress }, tls!, "http1", (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        o.events.connectFailed();
        cb(err, null);
        return;
      }
      o.events.connected();
      s.once("close", () => o.events.closed());
      cb(null, s);
    });
    const timer = setTimeout(() => s.destroy(Object.assign(new Error("connect timeout"), { code: "UND_ERR_CONNECT_TIMEOUT", syscall: "connect" })), o.connectTimeoutMs);
  };
  const connect: BuildConnector.connector = tls ? connectTls : (opts, cb) => {
    base(o.localAddress && !o.pipe ? { ...opts, localAddress: o.localAddress } : opts, (err, socket) => {
      if (err) {
        o.events.connectFailed();
        cb(err, null);
        return;
      }
      const s = socket as Socket;
      o.events.connected();
      s.once("close", () => o.events.closed());
      cb(null, s);
    });
  };
  const host = o.ip.includes(":") ? `[${o.ip}]` : o.ip;
  const pool = new Pool(o.pipe ? "http://localhost" : `http://${host}:${o.port}`, {
    connections: o.maxConnections,
    pipelining: 1,
    connect,
    keepAliveTimeout: Math.min(o.idleTimeoutMs || 4000, 60_000),
    keepAliveMaxTimeout: Math.max(o.idleTimeoutMs || 4000, 1000),
    maxRequestsPerClient: o.maxRequestsPerConnection > 0 ? o.maxRequestsPerConnection : undefined,
    headersTimeout: 0,
    bodyTimeout: 0,
  });

  return {
    request(req: UpstreamRequest, handler: UpstreamHandler): UpstreamStream {
      const headers: string[] = [];
      for (const k in req.headers) {
        const v = req.headers[k];
        if (v === undefined) continue;
        if (typeof v === "string") headers.push(k, v);
        else for (const x of v) headers.push(k, x);
      }
      let controller: Dispatcher.DispatchController | undefined;
      let started = false;
      let aborted = false;
      let local: string | undefined;
      let identity: UpstreamTlsIdentity | undefined;
      const h: Dispatcher.DispatchHandler = {
        onRequestStart(c, context: { socket?: Socket } | undefined) {
          controller = c;
          if (aborted) c.abort(new Error("aborted"));
          const s = context?.socket;
          if (s?.localAddress) local = `${s.localAddress}:${s.localPort}`;
          if (tls) identity = upstreamTlsIdentity(s);
        },
        onResponseStart(c, statusCode, hdrs) {
          if (statusCode < 200) return; // 1xx: undici delivers them here only for 101, handled by the upgrade path
          started = true;
          const noBody = req.method === "HEAD" || statusCode === 204 || statusCode === 304;
          handler.onHeaders(statusCode, hdrs as Record<string, string | string[]>, false);
          if (noBody) return;
        },
        onResponseData(c, chunk) {
          if (!handler.onData(chunk)) c.pause();
        },
        onResponseEnd(_c, trailers) {
          const t = trailers && Object.keys(trailers).length > 0 ? (trailers as Record<string, string | string[]>) : undefined;
          handler.onEnd(t);
        },
        onResponseError(_c, err) {
          if (aborted) return;
          const connectFail = !started && isConnectError(err);
          handler.onError(
            new UpstreamError(
              connectFail ? "connection_failure" : started ? "reset" : "connection_termination",
              connectFail ? transportReasonOf(err) : "",
              { cause: err },
            ),
          );
        },
      };
      pool.dispatch(
        {
          origin: undefined,
          path: req.path,
          method: req.method,
          headers,
          body: req.body ? (req.onBodyChunk ? counted(req.body, req.onBodyChunk) : req.body) : null,
          reset: false,
        } as Dispatcher.DispatchOptions,
        h,
      );
      return {
        localAddress: () => local,
        upstreamTls: () => identity,
        resume: () => controller?.resume(),
        abort() {
          aborted = true;
          controller?.abort(new Error("downstream reset"));
        },
      };
    },
    close: () => pool.destroy(),
  };
}

/** Passes the body through while counting bytes (undici accepts async iterables). */
async function* counted(body: AsyncIterable<Buffer>, onChunk: (chunk: Buffer) => void): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    onChunk(chunk);
    yield chunk;
  }
}
