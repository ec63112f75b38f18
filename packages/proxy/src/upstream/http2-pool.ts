// HTTP/2 upstream on node:http2: one multiplexed session per host, reopened
// when it closes or reaches max_requests_per_connection. Chosen over undici's
// allowH2 because gRPC needs request streaming while the response streams
// (bidi), response trailers and trailers-only responses, which node:http2
// exposes directly.
import * as http2 from "node:http2";
import * as net from "node:net";
import {
  UpstreamError,
  isConnectError,
  transportReasonOf,
  type ConnectionPool,
  type UpstreamHandler,
  type UpstreamHeaders,
  type UpstreamRequest,
  type UpstreamStream,
} from "./upstream-stream.js";
import { detachDataChunks } from "../http/http2-detach-data.js";
import { applyTcpKeepalive, type TcpKeepaliveSpec } from "./tcp-keepalive.js";
import { connectUpstreamTls, upstreamTlsIdentity, type UpstreamTls, type UpstreamTlsIdentity } from "../tls/upstream-tls.js";

export interface ConnectionEvents {
  connected(): void;
  connectFailed(): void;
  closed(): void;
}

export interface Http2PoolOptions {
  ip: string;
  port: number;
  pipe?: string;
  connectTimeoutMs: number;
  /** Source address of upstream connections (upstream_bind_config). */
  localAddress?: string;
  maxRequestsPerConnection: number;
  idleTimeoutMs: number;
  events: ConnectionEvents;
  /** The endpoint's UpstreamTlsContext; plaintext (h2c) when absent. */
  tls?: UpstreamTls;
  /** The cluster's upstream_connection_options.tcp_keepalive. */
  keepalive?: TcpKeepaliveSpec;
}

interface SessionState {
  session: http2.ClientHttp2Session;
  connected: boolean;
  failed?: Error;
  streams: number;
  total: number;
  /** The session's TLS identity, read once when it connected. */
  tls?: UpstreamTlsIdentity;
}

const { HTTP2_HEADER_STATUS } = http2.constants;

export function createHttp2Pool(o: Http2PoolOptions): ConnectionPool {
  let current: SessionState | undefined;
  const all = new Set<SessionState>();

  function open(): SessionState {
    const authority = o.pipe ? "http://localhost" : `http://${o.ip.includes(":") ? `[${o.ip}]` : o.ip}:${o.port}`;
    let socket: net.Socket | undefined;
    const session = http2.connect(authority, {
      createConnection: () => {
        socket = o.tls
          ? connectUpstreamTls({ host: o.ip, port: o.port, pipe: o.pipe, localAddress: o.localAddress }, o.tls, "http2")
          : o.pipe
            ? net.connect(o.pipe)
            : net.connect({ host: o.ip, port: o.port, localAddress: o.localAddress });
        applyTcpKeepalive(socket, o.keepalive);
        return socket;
      },
    });
    const st: SessionState = { session, connected: false, streams: 0, total: 0 };
    all.add(st);
    const timer = setTimeout(() => {
      if (!st.connected) {
        const err = Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" });
        st.failed = err;
        session.destroy(err);
      }
    }, o.connectTimeoutMs);
    session.once("connect", () => {
      clearTimeout(timer);
      st.connected = true;
      // The session connects after the socket's handshake and our server checks (its secureConnect).
      if (o.tls) st.tls = upstreamTlsIdentity(socket);
      o.events.connected();
    });
    session.on("error", (err) => {
      if (!st.connected && !st.failed) st.failed = err;
    });
    session.once("close", () => {
      clearTimeout(timer);
      all.delete(st);
      if (current === st) current = undefined;
      if (st.connected) o.events.closed();
      else o.events.connectFailed();
    });
    if (o.idleTimeoutMs > 0) {
      session.setTimeout(o.idleTimeoutMs, () => {
        if (st.streams === 0) session.close();
      });
    }
    return st;
  }

  return {
    request(req: UpstreamRequest, handler: UpstreamHandler): UpstreamStream {
      if (!current || current.session.closed || current.session.destroyed) current = open();
      const st = current;
      st.streams++;
      st.total++;
      if (o.maxRequestsPerConnection > 0 && st.total >= o.maxRequestsPerConnection) current = undefined;
      const headers: http2.OutgoingHttpHeaders = {
        ":method": req.method,
        ":path": req.path,
        ":authority": req.authority,
        ":scheme": req.scheme,
      };
      for (const k in req.headers) if (k !== "host" && req.headers[k] !== undefined) headers[k] = req.headers[k];
      const stream = st.session.request(headers, { endStream: req.body === null });
      // A response chunk waits in the downstream's write queue while the client is slow: it must not pin its read.
      detachDataChunks(stream);
      let started = false;
      let finished = false;
      let aborted = false;
      const done = () => {
        if (!finished) {
          finished = true;
          st.streams--;
          if (current !== st && st.streams === 0) st.session.close();
        }
      };
      stream.on("response", (h, flags) => {
        started = true;
        const status = Number(h[HTTP2_HEADER_STATUS]);
        const out: UpstreamHeaders = {};
        for (const k in h) if (k[0] !== ":") out[k] = h[k] as string | string[];
        handler.onHeaders(status, out, (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0);
      });
      let trailers: UpstreamHeaders | undefined;
      stream.on("trailers", (t) => {
        trailers = {};
        for (const k in t) if (k[0] !== ":") trailers[k] = t[k] as string | string[];
      });
      stream.on("data", (chunk: Buffer) => {
        if (!handler.onData(chunk)) stream.pause();
      });
      stream.on("end", () => {
        done();
        if (!aborted && started) handler.onEnd(trailers);
      });
      stream.on("error", () => {});
      stream.on("close", () => {
        done();
        if (body) body.off("data", onBody);
        if (aborted || (started && stream.readableEnded)) return;
        const sessErr = st.failed;
        if (!started && sessErr && !st.connected) {
          const fail = isConnectError(sessErr);
          handler.onError(new UpstreamError(fail ? "connection_failure" : "connection_termination", transportReasonOf(sessErr), { cause: sessErr }));
        } else if (!started) {
          handler.onError(new UpstreamError(stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM ? "refused_stream" : "connection_termination", ""));
        } else {
          handler.onError(new UpstreamError("reset", ""));
        }
      });
      const body = req.body;
      const onChunk = req.onBodyChunk;
      const onBody = (chunk: Buffer): void => {
        onChunk?.(chunk);
        if (!stream.write(chunk)) body!.pause();
      };
      if (body) {
        // A hand-rolled pipe so body bytes are counted; backpressure from the upstream stream pauses the body.
        body.on("data", onBody);
        stream.on("drain", () => body.resume());
        body.once("end", () => stream.end());
      }
      return {
        localAddress: () => {
          const s = st.session.socket;
          return s?.localAddress ? `${s.localAddress}:${s.localPort}` : undefined;
        },
        upstreamTls: () => st.tls,
        resume: () => stream.resume(),
        abort() {
          aborted = true;
          if (body) body.off("data", onBody);
          stream.close(http2.constants.NGHTTP2_CANCEL);
        },
      };
    },
    async close() {
      for (const st of all) st.session.destroy();
      all.clear();
    },
  };
}
