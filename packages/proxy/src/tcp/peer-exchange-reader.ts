// Reads a peer's metadata exchange off the front of a byte stream and passes
// everything after it on, as Istio's filter does before tcp_proxy sees data
// (tryReadInitialProxyHeader / tryReadProxyData). It holds at most one header
// and one payload; once the exchange is decided it hands chunks back untouched,
// so a connection pays nothing per byte afterwards.
//
// - The first bytes are not the magic (a peer without the filter, or garbage):
//   they are application data, passed on as they are, and the peer is unknown.
//   A mismatch is decided on the first byte that differs, so a short first
//   message is never held back.
// - The magic and a length within MAX_PEER_EXCHANGE_PAYLOAD: that many bytes
//   are the payload, always removed from the stream; a payload that does not
//   decode means an unknown peer (Istio passes such a payload on to the app:
//   Weft does not, the peer declared those bytes as the exchange).
// - A longer declared length is not buffered: the peer is unknown and the
//   stream continues after the 8-byte header, as Istio's does when it cannot
//   parse the payload.
// - The stream ends mid-header: held bytes that may still have been data are
//   given back (Istio lets tcp_proxy drain on end_stream).
import type { WorkloadMetadata } from "../istio/peer-metadata.js";
import { decodePeerExchangePayload, MAX_PEER_EXCHANGE_PAYLOAD, PEER_EXCHANGE_HEADER_BYTES, PEER_EXCHANGE_MAGIC } from "../istio/peer-exchange-wire.js";

export interface PeerExchangeReader {
  /** What of `chunk` goes on to the app (undefined while the exchange is still being read). */
  feed(chunk: Buffer): Buffer | undefined;
  /** At end of stream: held bytes that are application data after all. */
  end(): Buffer | undefined;
  /** True once the exchange is decided: feed() then returns its chunk as is. */
  readonly done: boolean;
}

const MAGIC = Buffer.alloc(4);
MAGIC.writeUInt32BE(PEER_EXCHANGE_MAGIC, 0);

/**
 * `onPeer(peer)` is called once, when the exchange is decided (undefined: no peer metadata), with
 * the number of bytes the exchange took off the stream.
 */
export function createPeerExchangeReader(onPeer: (peer: WorkloadMetadata | undefined, consumed: number) => void, maxPayload = MAX_PEER_EXCHANGE_PAYLOAD): PeerExchangeReader {
  let held: Buffer | undefined;
  /** -1 while reading the 8-byte header, then the payload length. */
  let length = -1;
  let done = false;
  const finish = (peer: WorkloadMetadata | undefined, consumed: number): void => {
    done = true;
    held = undefined;
    onPeer(peer, consumed);
  };
  return {
    get done() {
      return done;
    },
    feed(chunk) {
      if (done) return chunk;
      const buf = held ? Buffer.concat([held, chunk]) : chunk;
      if (length < 0) {
        const n = Math.min(buf.length, 4);
        if (MAGIC.compare(buf, 0, n, 0, n) !== 0) {
          finish(undefined, 0);
          return buf;
        }
        if (buf.length < PEER_EXCHANGE_HEADER_BYTES) {
          held = buf;
          return undefined;
        }
        length = buf.readUInt32BE(4);
        if (length > maxPayload) {
          finish(undefined, PEER_EXCHANGE_HEADER_BYTES);
          return buf.subarray(PEER_EXCHANGE_HEADER_BYTES);
        }
      }
      const end = PEER_EXCHANGE_HEADER_BYTES + length;
      if (buf.length < end) {
        held = buf;
        return undefined;
      }
      finish(decodePeerExchangePayload(buf.subarray(PEER_EXCHANGE_HEADER_BYTES, end)), end);
      return buf.subarray(end);
    },
    end() {
      if (done) return undefined;
      // Within the header the bytes may still have been data; a started payload was the exchange's.
      const rest = length < 0 ? held : undefined;
      finish(undefined, 0);
      return rest;
    },
  };
}
