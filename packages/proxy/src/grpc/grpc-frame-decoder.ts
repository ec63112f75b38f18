// The gRPC length-prefixed message stream (doc/PROTOCOL-HTTP2.md,
// "Length-Prefixed-Message"): a compressed-flag byte, a 4-byte big-endian
// length, the message. HTTP/2 DATA frames cut it anywhere: a message can
// span several chunks and a chunk can hold several messages.

/** Encodes one message as a gRPC frame (uncompressed). */
export function encodeGrpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export class GrpcFrameError extends Error {
  override readonly name = "GrpcFrameError";
}

export class GrpcFrameDecoder {
  /** Bytes received but not yet a whole message, kept as chunks and joined once the message is complete. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** Bytes held for an incomplete message (non-zero when the stream ends mid-message). */
  get buffered(): number {
    return this.pendingBytes;
  }

  /** Feeds one chunk; returns the messages it completed, in order. Throws GrpcFrameError on a frame this client cannot read. */
  push(chunk: Buffer): Uint8Array[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < 5) return [];
    const head = this.pending[0].length >= 5 ? this.pending[0] : Buffer.concat(this.pending);
    this.check(head);
    // Wait for the rest of the first message before joining anything.
    if (this.pendingBytes < 5 + head.readUInt32BE(1)) return [];
    let buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    const out: Uint8Array[] = [];
    while (buf.length >= 5) {
      this.check(buf);
      const length = buf.readUInt32BE(1);
      if (buf.length < 5 + length) break;
      out.push(buf.subarray(5, 5 + length));
      buf = buf.subarray(5 + length);
    }
    this.pending = buf.length > 0 ? [buf] : [];
    this.pendingBytes = buf.length;
    return out;
  }

  private check(head: Buffer): void {
    const flags = head[0];
    // We send no grpc-accept-encoding but identity, so a compressed message is the server's error.
    if (flags & 1) throw new GrpcFrameError("compressed response message, but only identity encoding was offered");
    if (flags !== 0) throw new GrpcFrameError(`response frame with unknown flags 0x${flags.toString(16)}`);
    const length = head.readUInt32BE(1);
    if (length > this.maxMessageBytes) throw new GrpcFrameError(`response message of ${length} bytes exceeds the ${this.maxMessageBytes}-byte limit`);
  }
}
