// Counts gRPC messages in a stream of DATA bytes without keeping any of them:
// each message is a 5-byte prefix (compressed flag, 4-byte big-endian length)
// and its payload, and a message may span chunks or share one with others.
// What Envoy's grpc_stats filter counts (request/response_message_count), and
// what istio.stats turns into istio_request/response_messages_total.
const PREFIX_BYTES = 5;

export class GrpcMessageCounter {
  /** Messages whose prefix has been seen. */
  count = 0;
  /** Prefix bytes still to read (0: inside a payload or between messages). */
  private prefixLeft = 0;
  /** The length being assembled from the prefix. */
  private length = 0;
  /** Payload bytes still to skip. */
  private payloadLeft = 0;

  feed(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.payloadLeft > 0) {
        const skip = Math.min(this.payloadLeft, n - i);
        this.payloadLeft -= skip;
        i += skip;
        continue;
      }
      if (this.prefixLeft === 0) {
        // A new message starts here: its flag byte.
        this.prefixLeft = PREFIX_BYTES - 1;
        this.length = 0;
        i++;
        continue;
      }
      this.length = this.length * 256 + chunk[i]!;
      i++;
      if (--this.prefixLeft === 0) {
        this.count++;
        this.payloadLeft = this.length;
      }
    }
  }
}

/** The grpc_stats filter's filter state: both directions of one gRPC call. */
export interface GrpcMessageCounts {
  request: GrpcMessageCounter;
  response: GrpcMessageCounter;
}
