// A gRPC client channel on node:http2 for the proxy's control-plane streams
// (ADS, SDS): one HTTP/2 connection per target, opened on first use and
// again after it dies, with a keepalive PING so a peer that vanished without
// closing the socket is noticed. Only what xDS needs: bidirectional streams,
// binary protobuf, identity encoding, cleartext TCP or a Unix socket.
// (It replaces @connectrpc/connect-node here: its ≈ 80 modules were ≈ 1.8 MB
// of RSS in every sidecar for two streams; bench/RESULTS.md, Memory session 4.)
import { connect as http2Connect, type ClientHttp2Session } from "node:http2";
import { connect as netConnect } from "node:net";
import { fromBinary, toBinary, type DescMessage, type DescMethodBiDiStreaming, type MessageShape } from "@bufbuild/protobuf";
import { bidiStream } from "./grpc-bidi-stream.js";

export type GrpcAddress = { kind: "unix"; path: string } | { kind: "tcp"; host: string; port: number };

export interface GrpcChannelOptions {
  /** HTTP/2 PING interval while connected (the ADS client's 30 s, as before). */
  pingIntervalMs?: number;
  /** A PING not acknowledged within this closes the connection; the streams on it fail and reconnect. */
  pingTimeoutMs?: number;
  /** Largest response message accepted (a full SotW push of a big mesh is tens of MB). */
  maxMessageBytes?: number;
}

export interface GrpcChannel {
  /** "unix:/path" or "host:port", for messages. */
  readonly target: string;
  /** Opens a bidi-streaming call; the iterable ends when the server ends the call OK and throws a GrpcError otherwise. */
  bidiStream<I extends DescMessage, O extends DescMessage>(
    method: DescMethodBiDiStreaming<I, O>,
    requests: AsyncIterable<MessageShape<I>>,
    signal: AbortSignal,
  ): AsyncIterable<MessageShape<O>>;
  /** Closes the connection; calls still open on it fail. */
  close(): void;
}

export function createGrpcChannel(address: GrpcAddress, options: GrpcChannelOptions = {}): GrpcChannel {
  const pingIntervalMs = options.pingIntervalMs ?? 30_000;
  const pingTimeoutMs = options.pingTimeoutMs ?? 15_000;
  const maxMessageBytes = options.maxMessageBytes ?? 256 * 1024 * 1024;
  const hostPort = address.kind === "tcp" ? `${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}` : "localhost";
  const target = address.kind === "unix" ? `unix:${address.path}` : hostPort;
  let session: ClientHttp2Session | undefined;
  let closed = false;

  function open(): ClientHttp2Session {
    if (session && !session.closed && !session.destroyed) return session;
    const s =
      address.kind === "unix"
        ? http2Connect("http://localhost", { createConnection: () => netConnect(address.path) })
        : http2Connect(`http://${hostPort}`);
    // Connect and socket errors reach the streams (grpc-bidi-stream reports them); without a
    // listener here the session's 'error' would be thrown.
    s.on("error", () => undefined);
    const keepalive = setInterval(() => {
      if (s.closed || s.destroyed || s.connecting) return;
      const timeout = setTimeout(() => s.destroy(new Error(`keepalive PING not acknowledged within ${pingTimeoutMs} ms`)), pingTimeoutMs);
      timeout.unref();
      s.ping((err) => {
        clearTimeout(timeout);
        if (err && !s.destroyed) s.destroy(err);
      });
    }, pingIntervalMs);
    keepalive.unref();
    const forget = () => {
      if (session === s) session = undefined;
    };
    s.on("close", () => {
      clearInterval(keepalive);
      forget();
    });
    // After GOAWAY the open streams finish here and new ones go to a new connection.
    s.on("goaway", forget);
    session = s;
    return s;
  }

  return {
    target,
    bidiStream(method, requests, signal) {
      if (closed) throw new Error(`gRPC channel to ${target} is closed`);
      const input = method.input;
      const output = method.output;
      return bidiStream({
        session: open(),
        path: `/${method.parent.typeName}/${method.name}`,
        authority: hostPort,
        target,
        encode: (m) => toBinary(input, m),
        decode: (b) => fromBinary(output, b),
        requests,
        signal,
        maxMessageBytes,
      });
    },
    close() {
      closed = true;
      session?.destroy();
      session = undefined;
    },
  };
}
