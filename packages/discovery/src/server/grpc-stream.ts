// gRPC framing for one bidirectional stream, straight on node:http2's
// request/response, for the ADS hot path. connect-node's generic pipeline
// (a chain of async iterables per message, a write-completion wait per
// response) cost ~0.15 ms per message: at a thousand proxies that was most
// of the time between "push queued" and "push on the wire", and as much
// again parsing their ACKs. Here a response is one encode and one write,
// and a request is decoded in the 'data' callback that delivered it.
//
// Only the plain gRPC protocol is handled (application/grpc[+proto],
// identity encoding); anything else is left to connect (see
// isPlainGrpc), which answers it with the right error.
// Wire format: https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";

/** Where responses go: the connect path's async queue and this stream share it. */
export interface ResponseSink<T> {
  push(item: T): void;
  /** Ends the stream with OK after what was pushed. */
  end(): void;
  /** Ends the stream with an error status. */
  fail(error: unknown): void;
  readonly closed: boolean;
}

export interface GrpcStreamHandlers<Req, Res> {
  decode(bytes: Uint8Array): Req;
  /** The message's bytes, possibly as several chunks written in order (shared buffers stay uncopied). */
  encode(message: Res): Uint8Array | Uint8Array[];
  /** One request message; a thrown error ends the stream with its status. */
  onMessage(message: Req): void;
  /** The client half-closed its side. */
  onEnd(): void;
  /** The stream is gone (ended by either side, reset, or the connection died). */
  onClose(): void;
}

/** grpc-status 0 (connect's Code enum starts at 1). */
const OK = 0;

/** Default limit on one request message (connect-node and grpc-go default to 4 MiB). */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Whether this request is plain gRPC with identity encoding, the only kind served here. */
export function isPlainGrpc(req: Http2ServerRequest): boolean {
  const type = req.headers["content-type"] ?? "";
  const encoding = req.headers["grpc-encoding"];
  return req.method === "POST" && (type === "application/grpc" || type === "application/grpc+proto") && (encoding === undefined || encoding === "identity");
}

function percentEncode(message: string): string {
  // grpc-message is percent-encoded UTF-8 (PROTOCOL-HTTP2.md, "Status-Message").
  return message.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => encodeURIComponent(c));
}

export function serveGrpcStream<Req, Res>(req: Http2ServerRequest, res: Http2ServerResponse, h: GrpcStreamHandlers<Req, Res>): ResponseSink<Res> {
  let closed = false;
  /** Bytes received but not yet a whole message: kept as chunks, joined once the message is complete. */
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  res.writeHead(200, { "content-type": "application/grpc+proto", "grpc-accept-encoding": "identity" });

  const finish = (code: number, message?: string) => {
    if (closed) return;
    closed = true;
    const trailers: Record<string, string> = { "grpc-status": String(code) };
    if (message) trailers["grpc-message"] = percentEncode(message);
    if (!res.stream.destroyed && !res.writableEnded) {
      res.addTrailers(trailers);
      res.end();
    }
    h.onClose();
  };

  const sink: ResponseSink<Res> = {
    push(message) {
      if (closed || res.stream.destroyed) return;
      const encoded = h.encode(message);
      const chunks = Array.isArray(encoded) ? encoded : [encoded];
      let length = 0;
      for (const c of chunks) length += c.length;
      // The envelope header and the first chunk in one buffer; later chunks as they are.
      const first = chunks[0] ?? new Uint8Array(0);
      const frame = Buffer.allocUnsafe(5 + first.length);
      frame[0] = 0;
      frame.writeUInt32BE(length, 1);
      frame.set(first, 5);
      res.write(frame);
      for (let i = 1; i < chunks.length; i++) if (chunks[i].length) res.write(chunks[i]);
    },
    end: () => finish(OK),
    fail(error) {
      const err = ConnectError.from(error);
      finish(err.code, err.rawMessage);
    },
    get closed() {
      return closed || res.stream.destroyed;
    },
  };

  const onData = (chunk: Buffer) => {
    if (closed) return;
    pending.push(chunk);
    pendingBytes += chunk.length;
    // A message split over DATA frames (a 25 KB SotW ACK spans two): wait until it is all here, then join once.
    if (pendingBytes < 5) return;
    const head = pending[0].length >= 5 ? pending[0] : Buffer.concat(pending);
    const declared = head.readUInt32BE(1);
    if (head[0] === 0 && declared <= MAX_MESSAGE_BYTES && pendingBytes < 5 + declared) return;
    let buf = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    try {
      while (buf.length >= 5) {
        const flags = buf[0];
        const length = buf.readUInt32BE(1);
        if (flags & 1) throw new ConnectError("compressed request message, but the stream declared no grpc-encoding", Code.Internal);
        if (length > MAX_MESSAGE_BYTES) throw new ConnectError(`request message of ${length} bytes exceeds the ${MAX_MESSAGE_BYTES}-byte limit`, Code.ResourceExhausted);
        if (buf.length < 5 + length) break;
        const bytes = buf.subarray(5, 5 + length);
        buf = buf.subarray(5 + length);
        let message: Req;
        try {
          message = h.decode(bytes);
        } catch (error) {
          throw new ConnectError(`cannot decode request: ${(error as Error).message}`, Code.InvalidArgument);
        }
        h.onMessage(message);
        if (closed) return;
      }
    } catch (error) {
      sink.fail(error);
      return;
    }
    if (buf.length > 0) {
      pending = [buf];
      pendingBytes = buf.length;
    }
  };

  req.on("data", onData);
  req.on("end", () => {
    if (closed) return;
    if (pendingBytes > 0) return sink.fail(new ConnectError(`protocol error: incomplete envelope (${pendingBytes} bytes left when the client half-closed)`, Code.InvalidArgument));
    h.onEnd();
  });
  // Reset by the client, connection gone, or ended by us: nothing more to write.
  res.stream.once("close", () => {
    if (closed) return;
    closed = true;
    h.onClose();
  });
  return sink;
}
