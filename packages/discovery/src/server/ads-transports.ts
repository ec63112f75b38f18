// The two ways an ADS stream reaches the transport-free stream logic in
// ads-server.ts: connect-node's router (the CA's TLS port, where connect's
// interceptors authenticate the caller, and any request variant the direct
// path leaves alone) and the direct gRPC framing on node:http2 (grpc-stream.ts)
// that serves plain gRPC on the xDS port without a per-message async pipeline.
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { AdsConnection } from "./ads-connection.js";
import { createAsyncQueue } from "./async-queue.js";
import { serveGrpcStream, type ResponseSink } from "./grpc-stream.js";

/** One open ADS stream, as ads-server.ts's openStream returns it. */
export interface AdsStream<Req> {
  /** Feeds one request; throws ConnectError for what must end the stream. */
  receive(request: Req): void;
  /** The stream is gone: forget the connection. */
  close(): void;
  readonly conn: AdsConnection<Req> | undefined;
}

export function serveViaConnect<Req, Res>(requests: AsyncIterable<Req>, ctx: HandlerContext, logger: Logger, open: (sink: ResponseSink<Res>) => AdsStream<Req>): AsyncIterable<Res> {
  const out = createAsyncQueue<Res>();
  const stream = open(out);

  const pump = async () => {
    const it = requests[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<Req>;
      try {
        next = await it.next();
      } catch (error) {
        // A frame that does not decode is the client's fault, not ours (connect reports it as INTERNAL).
        const err = ConnectError.from(error);
        if (err.code === Code.Internal && /^parse binary/.test(err.rawMessage)) {
          throw new ConnectError(`cannot decode request: ${err.rawMessage}`, Code.InvalidArgument);
        }
        throw err;
      }
      if (next.done) break;
      stream.receive(next.value);
    }
    // The client half-closed: the stream is over.
    out.end();
  };
  pump().catch((error: unknown) => {
    const err = ConnectError.from(error);
    if (!ctx.signal.aborted) logger.debug({ conn: stream.conn?.id, code: Code[err.code], err: err.rawMessage }, "ADS stream failed");
    out.fail(err);
  });

  const cleanup = () => {
    out.end();
    stream.close();
  };
  ctx.signal.addEventListener("abort", cleanup, { once: true });

  return (async function* () {
    try {
      yield* out;
    } finally {
      cleanup();
    }
  })();
}

export function serveDirect<Req, Res>(
  req: Http2ServerRequest,
  res: Http2ServerResponse,
  codec: { decode(bytes: Uint8Array): Req; encode(message: Res): Uint8Array | Uint8Array[] },
  logger: Logger,
  open: (sink: ResponseSink<Res>) => AdsStream<Req>,
): void {
  // serveGrpcStream delivers requests only from later 'data' events, so the
  // stream is open by the time the first one arrives.
  const ref: { stream?: AdsStream<Req> } = {};
  const sink = serveGrpcStream<Req, Res>(req, res, {
    ...codec,
    onMessage: (request) => {
      try {
        ref.stream!.receive(request);
      } catch (error) {
        const err = ConnectError.from(error);
        logger.debug({ conn: ref.stream?.conn?.id, code: Code[err.code], err: err.rawMessage }, "ADS stream failed");
        throw err;
      }
    },
    onEnd: () => sink.end(),
    onClose: () => ref.stream?.close(),
  });
  ref.stream = open(sink);
}
