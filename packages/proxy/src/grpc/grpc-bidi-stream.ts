// One bidirectional-streaming gRPC call on an HTTP/2 client session
// (doc/PROTOCOL-HTTP2.md): request messages are framed and written as the
// iterable yields them, response messages are decoded as their DATA arrives,
// and the call ends with the grpc-status of the trailers (or of a
// trailers-only response). Anything else — a reset, a dead connection, a
// non-gRPC response — ends it with a GrpcError that says what happened.
import { constants, type ClientHttp2Session, type IncomingHttpHeaders } from "node:http2";
import { GrpcError, GrpcStatus, decodeGrpcMessage, statusFromHttp } from "./grpc-error.js";
import { GrpcFrameDecoder, encodeGrpcFrame } from "./grpc-frame-decoder.js";

export interface BidiCall<I, O> {
  session: ClientHttp2Session;
  /** "/package.Service/Method". */
  path: string;
  /** The :authority to send (a Unix-socket target has none of its own). */
  authority: string;
  /** Names the server in error messages, e.g. "unix:/etc/istio/proxy/XDS". */
  target: string;
  encode(message: I): Uint8Array;
  decode(bytes: Uint8Array): O;
  requests: AsyncIterable<I>;
  signal: AbortSignal;
  maxMessageBytes: number;
}

/** Decoded responses held before reading pauses (HTTP/2 flow control then holds the server). */
const HIGH_WATER = 16;

const single = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

export async function* bidiStream<I, O>(call: BidiCall<I, O>): AsyncGenerator<O, void, undefined> {
  const { signal } = call;
  if (signal.aborted) throw new GrpcError(GrpcStatus.CANCELLED, "the call was aborted before it started");
  const stream = call.session.request(
    {
      ":method": "POST",
      ":path": call.path,
      ":authority": call.authority,
      "content-type": "application/grpc+proto",
      te: "trailers",
      "grpc-accept-encoding": "identity",
      "user-agent": "weft-proxy",
    },
    { endStream: false },
  );
  const decoder = new GrpcFrameDecoder(call.maxMessageBytes);
  const inbox: O[] = [];
  let headers: IncomingHttpHeaders | undefined;
  let trailers: IncomingHttpHeaders | undefined;
  let streamError: Error | undefined;
  /** Set once: undefined = still running, null = ended OK, else the error the call ends with. */
  let outcome: GrpcError | null | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const finish = (error: GrpcError | null) => {
    if (outcome !== undefined) return;
    outcome = error;
    if (!stream.closed) stream.close(error ? constants.NGHTTP2_CANCEL : constants.NGHTTP2_NO_ERROR);
    notify();
  };

  const onAbort = () => finish(new GrpcError(GrpcStatus.CANCELLED, "the call was aborted"));
  signal.addEventListener("abort", onAbort, { once: true });

  stream.on("response", (h) => {
    headers = h;
    const status = Number(h[":status"]);
    const type = single(h["content-type"]) ?? "";
    // A trailers-only response (grpc-status in the headers) is judged at close.
    if (h["grpc-status"] !== undefined) return;
    if (status !== 200) finish(new GrpcError(statusFromHttp(status), `${call.target} answered HTTP ${status}, not a gRPC response`));
    else if (!type.startsWith("application/grpc")) finish(new GrpcError(GrpcStatus.UNKNOWN, `${call.target} answered with content-type "${type}", not application/grpc`));
  });
  stream.on("data", (chunk: Buffer) => {
    if (outcome !== undefined) return;
    try {
      for (const bytes of decoder.push(chunk)) inbox.push(call.decode(bytes));
    } catch (err) {
      finish(new GrpcError(GrpcStatus.INTERNAL, `bad response from ${call.target}: ${(err as Error).message}`));
      return;
    }
    if (inbox.length >= HIGH_WATER) stream.pause();
    notify();
  });
  stream.on("trailers", (t) => (trailers = t));
  // The server's END_STREAM (after its trailers) ends the call even while our side is still open.
  stream.on("end", () => finish(finalStatus()));
  stream.on("error", (err) => (streamError ??= err));
  stream.on("close", () => finish(finalStatus()));

  function finalStatus(): GrpcError | null {
    const rawStatus = single(trailers?.["grpc-status"]) ?? single(headers?.["grpc-status"]);
    if (rawStatus !== undefined) {
      const code = Number(rawStatus);
      const message = decodeGrpcMessage(single(trailers?.["grpc-message"]) ?? single(headers?.["grpc-message"]));
      if (code !== GrpcStatus.OK) return new GrpcError(Number.isInteger(code) ? code : GrpcStatus.UNKNOWN, message || `${call.target} ended the call`);
      if (decoder.buffered > 0) return new GrpcError(GrpcStatus.INTERNAL, `${call.target} ended the call in the middle of a message (${decoder.buffered} bytes)`);
      return null;
    }
    if (streamError) {
      // A failed connect surfaces on the stream as "pending stream canceled (caused by: connect ECONNREFUSED …)".
      const cause = (streamError as Error & { cause?: Error }).cause ?? streamError;
      return new GrpcError(GrpcStatus.UNAVAILABLE, `cannot reach ${call.target}: ${cause.message}`);
    }
    if (stream.rstCode === constants.NGHTTP2_REFUSED_STREAM) return new GrpcError(GrpcStatus.UNAVAILABLE, `${call.target} refused the stream`);
    if (stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR) {
      return new GrpcError(stream.rstCode === constants.NGHTTP2_CANCEL ? GrpcStatus.CANCELLED : GrpcStatus.INTERNAL, `${call.target} reset the stream (HTTP/2 error ${stream.rstCode})`);
    }
    return new GrpcError(GrpcStatus.UNAVAILABLE, `${call.target} closed the stream without a grpc-status`);
  }

  // Requests: framed and written as they come; the end of the iterable half-closes.
  const requests = call.requests[Symbol.asyncIterator]();
  const pump = async () => {
    for (;;) {
      const next = await requests.next();
      if (outcome !== undefined || stream.closed) return;
      if (next.done) {
        stream.end();
        return;
      }
      if (!stream.write(encodeGrpcFrame(call.encode(next.value)))) {
        await new Promise<void>((resolve) => {
          const done = () => {
            stream.off("drain", done);
            stream.off("close", done);
            resolve();
          };
          stream.on("drain", done);
          stream.on("close", done);
        });
      }
    }
  };
  pump().catch((err: unknown) => finish(new GrpcError(GrpcStatus.INTERNAL, `cannot send a request: ${(err as Error).message}`)));

  try {
    for (;;) {
      // An abort ends the call now, not after what was already received.
      if (outcome && signal.aborted) throw outcome;
      const message = inbox.shift();
      if (message !== undefined) {
        if (inbox.length === 0 && stream.isPaused()) stream.resume();
        yield message;
        continue;
      }
      if (outcome === null) return;
      if (outcome) throw outcome;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    // The consumer stopped early (break/throw) or the call ended: cancel what is left and release the request iterable.
    finish(outcome ?? new GrpcError(GrpcStatus.CANCELLED, "the caller stopped reading"));
    void requests.return?.();
  }
}
