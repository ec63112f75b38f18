// A stream's bytes on the downstream wire: Envoy's downstream BytesMeter
// (wireBytesReceived / wireBytesSent), which istio.stats records as
// istio_request_bytes / istio_response_bytes and the access log prints as
// %DOWNSTREAM_WIRE_BYTES_RECEIVED% / %DOWNSTREAM_WIRE_BYTES_SENT%.
//
// What Envoy counts (source/common/http/http1/codec_impl.cc, http2/codec_impl.cc):
// - HTTP/1: every byte read while the request is the connection's active one
//   (head, body, chunk framing, trailers), every byte the response encoder
//   flushed (head, body, chunk framing, last chunk and trailers);
// - HTTP/2: each frame of the stream, its 9-byte header included, in each
//   direction (HEADERS/CONTINUATION with the HPACK-compressed block, DATA with
//   padding, RST_STREAM, WINDOW_UPDATE…).
//
// The lean HTTP/1.1 codec counts exactly as it parses and writes
// (lean-http1-stream.ts). The helpers here serve the other two codecs.
import type { Socket } from "node:net";
import type { Headers } from "./request-context.js";

/** The wire counts a stream settles on its StreamInfo at its end. */
export interface WireByteCounts {
  wireBytesReceived: number;
  wireBytesSent: number;
}

const READ_MARK = Symbol("weft.wireReadMark");
const WRITTEN_MARK = Symbol("weft.wireWrittenMark");
type MarkedSocket = Socket & { [READ_MARK]?: number; [WRITTEN_MARK]?: number };

/**
 * node:http (and the WebSocket upgrades it hands over): the socket's byte counters since the
 * previous request on it ended. Exact for a connection's requests one after the other — node:http
 * exposes no per-message byte counts, but its socket counts every byte read and written,
 * cleartext under TLS. Like Envoy (its docs say so), a pipelined request's bytes that arrived
 * while an earlier one was active are counted with the earlier one; a response node:http still
 * holds back behind an earlier one is counted with the next.
 */
export function settleSocketWireBytes(socket: Socket, into: WireByteCounts): void {
  const s = socket as MarkedSocket;
  const read = s.bytesRead;
  const written = s.bytesWritten ?? 0;
  into.wireBytesReceived = read - (s[READ_MARK] ?? 0);
  into.wireBytesSent = written - (s[WRITTEN_MARK] ?? 0);
  s[READ_MARK] = read;
  s[WRITTEN_MARK] = written;
}

/**
 * The lean codec hands `socket` to node:http: what it read and wrote so far belonged to its own
 * requests, except `pendingBytes` it read but gives back (unshifted) for node:http's first request.
 */
export function markSocketHandOff(socket: Socket, pendingBytes: number): void {
  const s = socket as MarkedSocket;
  s[READ_MARK] = s.bytesRead - pendingBytes;
  s[WRITTEN_MARK] = s.bytesWritten ?? 0;
}

// ---- HTTP/2: estimates --------------------------------------------------------
//
// node:http2 tells nothing of a stream's frames or of the HPACK block sizes, so
// downstream HTTP/2 wire bytes are an estimate, documented as one (README):
// - a header block is counted as HPACK literals with an indexed name and a
//   plain (non-Huffman) value: value length + 2 bytes per field. That is close
//   to a connection's first request; later ones, whose fields HPACK finds in its
//   dynamic table, cost Envoy less;
// - DATA bytes are exact; the frames carrying them are counted as full frames of
//   the default SETTINGS_MAX_FRAME_SIZE (one per write at least), END_STREAM on
//   the last of them (an empty frame when there is none);
// - WINDOW_UPDATE and PRIORITY frames are not counted.

/** The 9-byte frame header of every HTTP/2 frame. */
export const H2_FRAME_HEADER = 9;
/** The default (and nghttp2's usual) DATA payload per frame. */
const H2_MAX_DATA_PAYLOAD = 16_384;
/** RST_STREAM: frame header + 32-bit error code. */
export const H2_RST_STREAM = H2_FRAME_HEADER + 4;

/** A HEADERS frame for a flat name/value list (node:http2's raw headers). */
export function estimateHeadersFrame(rawHeaders: readonly string[]): number {
  let n = H2_FRAME_HEADER;
  for (let i = 1; i < rawHeaders.length; i += 2) n += rawHeaders[i].length + 2;
  return n;
}

/** A HEADERS frame for a header map (pseudo-headers such as `:status` included when present). */
export function estimateHeadersFrameOf(headers: Headers): number {
  let n = H2_FRAME_HEADER;
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined) continue;
    if (typeof v === "string") n += v.length + 2;
    else for (let i = 0; i < v.length; i++) n += v[i].length + 2;
  }
  return n;
}

/** The DATA frames carrying `bytes` of payload, frame headers included. */
export function estimateDataFrames(bytes: number): number {
  return bytes + H2_FRAME_HEADER * Math.ceil(bytes / H2_MAX_DATA_PAYLOAD);
}
