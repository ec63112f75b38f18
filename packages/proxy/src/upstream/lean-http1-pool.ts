// HTTP/1.1 upstream pool over plain net sockets, for plaintext endpoints
// (TLS endpoints keep the undici pool, http1-pool.ts). One request at a time
// per connection (no pipelining), keep-alive with the most recently used
// idle connection first, at most max_connections (circuit breaker; the rest
// wait in order), max_requests_per_connection, connect timeout, idle timeout
// (shortened by the upstream's Keep-Alive: timeout= hint), source address.
//
// Why not undici: on the proxy's hot path undici's dispatcher, handler
// wrapping and wasm parser were ~20 % of the CPU per request (bench/RESULTS.md);
// this does one write per request head and hands body bytes straight through.
import * as net from "node:net";
import type { Readable } from "node:stream";
import type { Http1PoolOptions } from "./http1-pool.js";
import { createResponseParser, ResponseParseError, type ResponseParser } from "./http1-response-parser.js";
import { UpstreamError, transportReasonOf, type ConnectionPool, type UpstreamHandler, type UpstreamRequest, type UpstreamStream } from "./upstream-stream.js";

/** The HTTP/1.1 pool's options without TLS: the lean pool serves plaintext endpoints only. */
export type LeanHttp1PoolOptions = Omit<Http1PoolOptions, "tls">;

interface Conn {
  socket: net.Socket;
  requests: number;
  idleMs: number;
  exchange: Exchange | undefined;
}

interface Exchange {
  req: UpstreamRequest;
  handler: UpstreamHandler;
  conn: Conn | undefined;
  parser: ResponseParser | undefined;
  aborted: boolean;
  finished: boolean;
  /** The request body is still being written: the connection can't be reused yet. */
  sending: boolean;
  reusable: boolean;
  paused: boolean;
}

// A header value that would split the request (CR, LF, NUL) never reaches the wire.
const UNSAFE_VALUE = /[\r\n\0]/;
const DEFAULT_IDLE_MS = 4000;

export function createLeanHttp1Pool(o: LeanHttp1PoolOptions): ConnectionPool {
  const idle: Conn[] = [];
  const all = new Set<Conn>();
  const queue: Exchange[] = [];
  let closed = false;
  const baseIdleMs = Math.min(o.idleTimeoutMs || DEFAULT_IDLE_MS, 3_600_000);

  const fail = (ex: Exchange, err: UpstreamError): void => {
    if (ex.finished || ex.aborted) return;
    ex.finished = true;
    ex.handler.onError(err);
  };

  const release = (c: Conn): void => {
    c.exchange = undefined;
    if (c.socket.destroyed) return;
    const next = queue.shift();
    if (next) return assign(c, next);
    c.socket.setTimeout(c.idleMs);
    idle.push(c);
  };

  const retire = (c: Conn): void => {
    all.delete(c);
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    if (!c.socket.destroyed) c.socket.destroy();
    kick();
  };

  /** A slot freed under max_connections: start the next waiting request on a new connection. */
  const kick = (): void => {
    while (!closed && queue.length > 0 && all.size < Math.max(1, o.maxConnections)) connect(queue.shift()!);
  };

  const onSocketGone = (c: Conn, err: Error | undefined): void => {
    all.delete(c);
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    const ex = c.exchange;
    c.exchange = undefined;
    if (ex && !ex.finished && !ex.aborted) {
      if (ex.parser && !ex.parser.done) {
        try {
          ex.parser.finish(); // a body delimited by the close ends here
        } catch {
          fail(ex, new UpstreamError(ex.parser.started ? "reset" : "connection_termination", "", { cause: err }));
        }
      } else fail(ex, new UpstreamError("connection_termination", "", { cause: err }));
    }
    kick();
  };

  const connect = (ex: Exchange): void => {
    const socket = o.pipe ? net.connect({ path: o.pipe }) : net.connect({ host: o.ip, port: o.port, localAddress: o.localAddress, noDelay: true });
    const c: Conn = { socket, requests: 0, idleMs: baseIdleMs, exchange: undefined };
    all.add(c);
    let connected = false;
    const timer = setTimeout(() => {
      socket.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" }));
    }, o.connectTimeoutMs);
    socket.once("connect", () => {
      connected = true;
      clearTimeout(timer);
      o.events.connected();
      if (ex.aborted) return release(c);
      assign(c, ex);
    });
    socket.on("error", (err) => {
      if (connected) return; // 'close' follows and settles the exchange
      clearTimeout(timer);
      o.events.connectFailed();
      all.delete(c);
      fail(ex, new UpstreamError("connection_failure", transportReasonOf(err), { cause: err }));
      kick();
    });
    socket.on("close", () => {
      if (!connected) return;
      o.events.closed();
      onSocketGone(c, undefined);
    });
    socket.on("timeout", () => {
      // Only armed while idle.
      if (!c.exchange) retire(c);
    });
    socket.on("data", (d: Buffer) => onData(c, d));
  };

  const onData = (c: Conn, d: Buffer): void => {
    const ex = c.exchange;
    if (!ex || !ex.parser) {
      // Bytes on an idle connection: the upstream is confused; never reuse it.
      retire(c);
      return;
    }
    try {
      ex.parser.execute(d);
    } catch (err) {
      if (!(err instanceof ResponseParseError)) throw err;
      const started = ex.parser.started;
      retire(c);
      fail(ex, new UpstreamError(started ? "reset" : "connection_termination", `upstream protocol error: ${err.message}`, { cause: err }));
    }
  };

  const assign = (c: Conn, ex: Exchange): void => {
    c.socket.setTimeout(0);
    c.exchange = ex;
    ex.conn = c;
    c.requests++;
    const req = ex.req;
    ex.parser = createResponseParser(req.method === "HEAD", {
      onHead(head) {
        if (ex.aborted) return;
        if (head.close) ex.reusable = false;
        const ka = head.headers["keep-alive"];
        const hint = typeof ka === "string" ? /timeout=(\d+)/i.exec(ka) : null;
        // Envoy-like safety margin: stop reusing a second before the upstream would close.
        if (hint) c.idleMs = Math.max(0, Math.min(baseIdleMs, (Number(hint[1]) - 1) * 1000));
        ex.handler.onHeaders(head.status, head.headers, false);
      },
      onBody(chunk) {
        if (ex.aborted || ex.finished) return;
        if (!ex.handler.onData(chunk) && !ex.paused) {
          ex.paused = true;
          c.socket.pause();
        }
      },
      onEnd(trailers) {
        if (ex.aborted || ex.finished) return;
        ex.finished = true;
        const max = o.maxRequestsPerConnection;
        if (max > 0 && c.requests >= max) ex.reusable = false;
        ex.handler.onEnd(trailers);
        // After the handler: a paused socket must flow again before reuse.
        if (ex.paused) c.socket.resume();
        if (!ex.reusable || ex.sending || c.idleMs === 0) retire(c);
        else release(c);
      },
    });
    writeHead(c.socket, req, ex);
  };

  const writeHead = (socket: net.Socket, req: UpstreamRequest, ex: Exchange): void => {
    let head = `${req.method} ${req.path} HTTP/1.1\r\n`;
    const h = req.headers;
    if (h["host"] === undefined) head += `host: ${req.authority}\r\n`;
    let hasLength = false;
    for (const k in h) {
      const v = h[k];
      if (v === undefined) continue;
      if (k === "content-length") hasLength = true;
      if (typeof v === "string") {
        if (UNSAFE_VALUE.test(v)) return badHeader(ex, k);
        head += `${k}: ${v}\r\n`;
      } else
        for (const x of v) {
          if (UNSAFE_VALUE.test(x)) return badHeader(ex, k);
          head += `${k}: ${x}\r\n`;
        }
    }
    const body = req.body;
    if (body === null) {
      socket.write(head + "\r\n", "latin1");
      return;
    }
    const chunked = !hasLength;
    if (chunked) head += "transfer-encoding: chunked\r\n";
    socket.write(head + "\r\n", "latin1");
    ex.sending = true;
    pipeBody(socket, body, chunked, ex, req.onBodyBytes);
  };

  const badHeader = (ex: Exchange, name: string): void => {
    const c = ex.conn!;
    c.exchange = undefined;
    retire(c);
    fail(ex, new UpstreamError("reset", `invalid value in request header '${name}'`));
  };

  const pipeBody = (socket: net.Socket, body: Readable, chunked: boolean, ex: Exchange, onBytes: ((n: number) => void) | undefined): void => {
    const onChunk = (chunk: Buffer): void => {
      if (ex.aborted || socket.destroyed) return;
      onBytes?.(chunk.length);
      let ok: boolean;
      if (chunked) {
        if (chunk.length === 0) return;
        socket.write(chunk.length.toString(16) + "\r\n", "latin1");
        socket.write(chunk);
        ok = socket.write("\r\n", "latin1");
      } else ok = socket.write(chunk);
      if (!ok) {
        body.pause();
        socket.once("drain", () => body.resume());
      }
    };
    const onEnd = (): void => {
      cleanup();
      ex.sending = false;
      if (chunked && !socket.destroyed) socket.write("0\r\n\r\n", "latin1");
      // The response may already be complete (the upstream answered early): now the connection can go.
      if (ex.finished && ex.conn && ex.conn.exchange === undefined && !socket.destroyed) retire(ex.conn);
    };
    const onError = (): void => {
      cleanup();
      if (ex.conn) retire(ex.conn);
    };
    const cleanup = (): void => {
      body.off("data", onChunk);
      body.off("end", onEnd);
      body.off("error", onError);
    };
    body.on("data", onChunk);
    body.once("end", onEnd);
    body.once("error", onError);
    if (body.readableEnded) onEnd();
    else body.resume();
  };

  return {
    request(req: UpstreamRequest, handler: UpstreamHandler): UpstreamStream {
      const ex: Exchange = { req, handler, conn: undefined, parser: undefined, aborted: false, finished: false, sending: false, reusable: true, paused: false };
      if (closed) {
        queueMicrotask(() => fail(ex, new UpstreamError("connection_failure", "pool closed")));
      } else {
        let c = idle.pop();
        while (c && c.socket.destroyed) c = idle.pop();
        if (c) assign(c, ex);
        else if (all.size < Math.max(1, o.maxConnections)) connect(ex);
        else queue.push(ex);
      }
      return {
        localAddress() {
          const s = ex.conn?.socket;
          return s?.localAddress ? `${s.localAddress}:${s.localPort}` : undefined;
        },
        resume() {
          if (!ex.paused || !ex.conn) return;
          ex.paused = false;
          ex.conn.socket.resume();
        },
        abort() {
          if (ex.aborted) return;
          ex.aborted = true;
          const qi = queue.indexOf(ex);
          if (qi >= 0) queue.splice(qi, 1);
          const c = ex.conn;
          // Mid-exchange the connection's state is unknown: it is never reused.
          if (c && c.exchange === ex && !ex.finished) {
            c.exchange = undefined;
            retire(c);
          }
        },
      };
    },
    async close() {
      closed = true;
      for (const ex of queue.splice(0)) fail(ex, new UpstreamError("connection_termination", "pool closed"));
      for (const c of [...all]) retire(c);
    },
  };
}
