// DATA that the proxy keeps must not keep the socket reads it came in: request
// DATA from clients (http2-guard.ts) and response DATA from HTTP/2 upstreams
// (upstream/http2-pool.ts), which a slow client leaves queued the same way.
//
// node:http2 hands each DATA payload to the stream as a view into the buffer
// of the socket read it arrived in (node_http2.cc, Http2StreamListener::
// OnStreamRead: "create a slice of that array buffer"), and a read is up to
// 64 KiB. A chunk the proxy holds — in the stream's buffer while the upstream
// does not read, or in the upstream socket's write queue — keeps its whole
// read alive. A client that sends each stalled stream one byte of DATA per
// read, filled up with frames nobody keeps (unknown frame types, DATA the
// upstream consumes), pins ~48 KiB per byte: 3 000 bytes held pinned 94–115
// MiB in the test, and the stream windows, which count bytes, bound nothing.
// Chunks that are less than 7/8 of their read (in practice every chunk of a
// read that also carried frame headers or other streams' data) are therefore
// copied before anyone sees them, so what the proxy holds costs at most 8/7
// of its bytes. One memcpy per uploaded byte was not measurable against the
// rest of the HTTP/2 path (RESILIENCE.md).
import type * as http2 from "node:http2";

type Push = (chunk: unknown, encoding?: BufferEncoding) => boolean;

export function detachDataChunks(stream: http2.Http2Stream): void {
  const own = stream as unknown as { push: Push };
  const push = own.push;
  // node:http2 delivers every DATA payload through stream.push (stream_base_commons onStreamRead).
  own.push = function (chunk, encoding) {
    if (chunk instanceof Uint8Array && chunk.byteLength * 8 < chunk.buffer.byteLength * 7) chunk = Buffer.from(chunk);
    return push.call(this, chunk, encoding);
  };
}
