// max_inbound_window_update_frames_per_data_frame_sent for a downstream
// HTTP/2 connection. node:http2 hands WINDOW_UPDATE frames to nghttp2 without
// telling JS, so this guard sits between the socket and the session and reads
// frame headers (9 bytes each; payloads are skipped, never copied) in both
// directions: inbound WINDOW_UPDATE frames and new streams, outbound DATA
// frames. Envoy's rule (ProtocolConstraints): more than
//   5 + 2 × (opened streams + limit × DATA frames sent)
// WINDOW_UPDATE frames is a flood — counted in
// http2.inbound_window_update_frames_flood, answered with
// GOAWAY(ENHANCE_YOUR_CALM) at the next outbound frame boundary, and closed.
//
// The cost: node:http2 then reads and writes through JS (JSStreamSocket)
// instead of the socket's native handle; see RESILIENCE.md.
import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import type { Logger } from "pino";
import type { Http2CodecStats } from "./hardening-stats.js";
import type { Http2Limits } from "./request-limits.js";

const PREFACE_LENGTH = 24;
const DATA = 0x0;
const HEADERS = 0x1;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const ENHANCE_YOUR_CALM = 0xb;
/** After GOAWAY, how long the peer gets to read it before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;

type OnFrame = (type: number, streamId: number) => void;

/** Incremental reader of HTTP/2 frame headers over a byte stream; payloads are skipped. */
export class FrameHeaderReader {
  private skip: number;
  private readonly head = Buffer.alloc(9);
  private have = 0;

  constructor(
    private readonly onFrame: OnFrame,
    /** Bytes before the first frame (the client connection preface). */
    skipFirst = 0,
  ) {
    this.skip = skipFirst;
  }

  /** Bytes until the current frame ends: 0 between frames, undefined inside a frame header. */
  bytesToBoundary(): number | undefined {
    return this.have > 0 ? undefined : this.skip;
  }

  feed(b: Buffer): void {
    let i = 0;
    const n = b.length;
    while (i < n) {
      if (this.skip > 0) {
        const k = Math.min(this.skip, n - i);
        this.skip -= k;
        i += k;
      } else if (this.have === 0 && n - i >= 9) {
        this.frame(b, i);
        i += 9;
      } else {
        const k = Math.min(9 - this.have, n - i);
        b.copy(this.head, this.have, i, i + k);
        this.have += k;
        i += k;
        if (this.have === 9) {
          this.have = 0;
          this.frame(this.head, 0);
        }
      }
    }
  }

  private frame(b: Buffer, at: number): void {
    this.skip = (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;
    this.onFrame(b[at + 3]!, b.readUInt32BE(at + 5) & 0x7fffffff);
  }
}

function goawayFrame(lastStreamId: number): Buffer {
  const f = Buffer.alloc(17);
  f.writeUIntBE(8, 0, 3);
  f[3] = GOAWAY;
  f.writeUInt32BE(lastStreamId & 0x7fffffff, 9);
  f.writeUInt32BE(ENHANCE_YOUR_CALM, 13);
  return f;
}

class FrameGuardSocket extends Duplex {
  private openedStreams = 0;
  private lastStreamId = 0;
  private windowUpdates = 0;
  private dataFramesSent = 0;
  /** Set once a flood is detected: no more input reaches the session. */
  private flooded = false;
  private goawaySent = false;
  private readonly inbound: FrameHeaderReader;
  private readonly outbound: FrameHeaderReader;

  constructor(
    private readonly socket: Socket,
    private readonly limits: Http2Limits,
    private readonly stats: Http2CodecStats,
    private readonly logger: Logger,
  ) {
    super({ allowHalfOpen: true });
    this.inbound = new FrameHeaderReader((type, id) => this.onInbound(type, id), PREFACE_LENGTH);
    this.outbound = new FrameHeaderReader((type) => {
      if (type === DATA) this.dataFramesSent++;
    });
    socket.on("data", (d: Buffer) => {
      if (this.flooded) return;
      this.inbound.feed(d);
      if (this.flooded) return;
      if (!this.push(d)) socket.pause();
    });
    socket.on("end", () => this.push(null));
    socket.on("error", (err) => this.destroy(err));
    socket.on("close", () => this.destroy());
  }

  private onInbound(type: number, streamId: number): void {
    if (type === HEADERS && streamId > this.lastStreamId) {
      this.lastStreamId = streamId;
      this.openedStreams++;
    } else if (type === WINDOW_UPDATE) {
      const allowed = 5 + 2 * (this.openedStreams + this.limits.maxInboundWindowUpdatePerDataSent * this.dataFramesSent);
      if (++this.windowUpdates > allowed && !this.flooded) this.flood();
    }
  }

  private flood(): void {
    this.flooded = true;
    this.socket.pause();
    this.stats.inboundWindowUpdateFramesFlood.inc();
    this.logger.debug({ windowUpdates: this.windowUpdates, dataFramesSent: this.dataFramesSent }, "closing abusive HTTP/2 connection: too many WINDOW_UPDATE frames");
    // Between two outbound frames the GOAWAY can go now; inside one, _write sends it when the frame ends.
    if (this.outbound.bytesToBoundary() === 0) this.sendGoaway();
  }

  private sendGoaway(): void {
    if (this.goawaySent) return;
    this.goawaySent = true;
    this.stats.goawaySent.inc();
    this.socket.end(goawayFrame(this.lastStreamId));
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  override _read(): void {
    if (!this.flooded) this.socket.resume();
  }

  /** After a flood: finish the frame under way, then GOAWAY; what the session writes after it is dropped. */
  private writeFlooded(chunk: Buffer): void {
    if (this.goawaySent) return;
    const rest = this.outbound.bytesToBoundary();
    if (rest !== undefined && rest < chunk.length) {
      this.socket.write(chunk.subarray(0, rest));
      this.sendGoaway();
      return;
    }
    this.outbound.feed(chunk);
    this.socket.write(chunk);
    if (this.outbound.bytesToBoundary() === 0) this.sendGoaway();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.flooded || this.goawaySent) {
      this.writeFlooded(chunk);
      return cb();
    }
    this.outbound.feed(chunk);
    if (this.socket.write(chunk)) cb();
    else this.socket.once("drain", () => cb());
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    if (this.flooded || this.goawaySent) {
      for (const c of chunks) this.writeFlooded(c.chunk);
      return cb();
    }
    this.socket.cork();
    let ok = true;
    for (const { chunk } of chunks) {
      this.outbound.feed(chunk);
      ok = this.socket.write(chunk);
    }
    this.socket.uncork();
    if (ok) cb();
    else this.socket.once("drain", () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.goawaySent) this.socket.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.goawaySent || err) this.socket.destroy();
    cb(err);
  }
}

/**
 * Wraps a downstream socket that will carry HTTP/2 (server side, from the
 * client preface on) so WINDOW_UPDATE floods are counted and cut. Hand the
 * returned stream to the http2 server (`h2.emit("connection", guarded)`).
 */
export function guardHttp2Frames(socket: Socket, limits: Http2Limits, stats: Http2CodecStats, logger: Logger): Duplex {
  return new FrameGuardSocket(socket, limits, stats, logger);
}
