// One request/response on a lean HTTP/1.1 connection, as the protocol-neutral
// Downstream the connection manager and router drive. The response head is
// held until the first body bytes or the end in the same tick, so a small
// response leaves in one write (one syscall) — node:http needs two or three.
import { Readable } from "node:stream";
import type { Downstream, StreamListener, WireByteInfo } from "./downstream.js";
import type { Headers } from "./request-context.js";
import { serializeChunkedEnd, serializeResponseHead, type ResponseFraming } from "./lean-response-head.js";

/** What a stream needs from its connection. */
export interface LeanConnectionPort {
  readonly gone: boolean;
  lastActive: number;
  /** Strings are written as latin1: one byte per character. */
  write(data: Buffer | string): boolean;
  onceDrain(cb: () => void): void;
  cork(): void;
  uncork(): void;
  pauseReading(): void;
  resumeReading(): void;
  destroy(): void;
  /** The response is complete: the next request may start (or the connection closes). */
  responseDone(stream: LeanHttp1Stream): void;
}

/** The request body, fed by the connection; reading it resumes the socket. */
export class LeanRequestBody extends Readable {
  constructor(
    private readonly port: LeanConnectionPort,
    highWaterMark: number,
  ) {
    super({ highWaterMark });
  }
  override _read(): void {
    this.port.resumeReading();
  }
}

const CRLF = "\r\n";
/** Up to this size a body chunk is copied next to its framing rather than written separately. */
const COPY_LIMIT = 16 * 1024;
/** Stream idle timeouts from this long on are timed by the connection manager's sweep (≤ 1 s late). */
const COARSE_IDLE_MIN_MS = 10_000;

export class LeanHttp1Stream implements Downstream {
  readonly protocol = "HTTP/1.1";
  body: LeanRequestBody | null = null;
  /** Request body bytes still expected from the client. */
  bodyRemaining: number;
  headersSent = false;
  /** The response has been completely written. */
  finished = false;
  closeAfter: boolean;
  private framing: ResponseFraming = "length";
  private pendingHead: string | undefined;
  private closeListener: StreamListener | undefined;
  private closeFired = false;
  private idleMs = 0;
  private idleListener: StreamListener | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly isHead: boolean;
  /**
   * The request's and the response's bytes on the wire, exactly: the head as parsed, the body
   * as fed; the response head, body and chunk framing as written (Envoy's downstream BytesMeter).
   */
  private wireIn: number;
  private wireOut = 0;

  constructor(
    private readonly port: LeanConnectionPort,
    method: string,
    contentLength: number,
    keepAlive: boolean,
    /** Request body bytes buffered before the socket is paused (per_connection_buffer_limit_bytes, at most 64 KiB). */
    bodyBufferBytes: number,
    /** The request head's length on the wire, request line to blank line. */
    headBytes = 0,
  ) {
    this.wireIn = headBytes;
    this.isHead = method === "HEAD";
    this.bodyRemaining = contentLength;
    this.closeAfter = !keepAlive;
    if (contentLength > 0) this.body = new LeanRequestBody(port, bodyBufferBytes);
  }

  get closed(): boolean {
    return this.finished || this.port.gone;
  }

  /** Takes this request's body bytes from `chunk`; returns what belongs to the next request. */
  feedBody(chunk: Buffer): Buffer | undefined {
    const n = Math.min(this.bodyRemaining, chunk.length);
    this.bodyRemaining -= n;
    this.wireIn += n;
    const body = this.body!;
    if (!body.destroyed) {
      if (!body.push(n === chunk.length ? chunk : chunk.subarray(0, n))) this.port.pauseReading();
      if (this.bodyRemaining === 0) body.push(null);
    }
    return n < chunk.length ? chunk.subarray(n) : undefined;
  }

  respond(status: number, headers: Headers, endStream: boolean): void {
    if (this.port.gone || this.headersSent) return;
    this.headersSent = true;
    // A reply before the client finished its body: the unread rest makes the connection unusable.
    if (endStream && this.bodyRemaining > 0) this.closeAfter = true;
    const head = serializeResponseHead(status, headers, this.isHead, endStream, this.closeAfter);
    this.framing = head.framing;
    if (endStream) {
      this.wireOut += head.text.length;
      this.port.write(head.text);
      this.complete();
      return;
    }
    // Sent with the first body bytes if they come in this tick; alone otherwise (streaming responses).
    this.pendingHead = head.text;
    deferHeadFlush(this);
  }

  write(chunk: Buffer): boolean {
    if (this.finished || this.port.gone) return true;
    this.port.lastActive = Date.now();
    if (this.framing === "none" || chunk.length === 0) {
      this.flushHead();
      return true;
    }
    const head = this.pendingHead;
    this.pendingHead = undefined;
    if (this.framing === "chunked") {
      const prefix = (head ?? "") + chunk.length.toString(16) + CRLF;
      this.wireOut += prefix.length + chunk.length + CRLF.length;
      return this.writeFramed(prefix, chunk, CRLF);
    }
    if (head === undefined) {
      this.wireOut += chunk.length;
      return this.port.write(chunk);
    }
    this.wireOut += head.length + chunk.length;
    return this.writeFramed(head, chunk, "");
  }

  /** Small chunks are copied into one buffer with their framing (one write); large ones are corked. */
  private writeFramed(prefix: string, chunk: Buffer, suffix: string): boolean {
    if (chunk.length <= COPY_LIMIT) return this.port.write(join(prefix, chunk, suffix));
    this.port.cork();
    this.port.write(prefix);
    let ok = this.port.write(chunk);
    if (suffix.length > 0) ok = this.port.write(suffix);
    this.port.uncork();
    return ok;
  }

  onDrain(cb: () => void): void {
    this.port.onceDrain(cb);
  }

  end(trailers: Headers | undefined): void {
    if (this.finished || this.port.gone) return;
    const head = this.pendingHead ?? "";
    this.pendingHead = undefined;
    const tail = this.framing === "chunked" ? serializeChunkedEnd(trailers) : "";
    if (head.length + tail.length > 0) {
      this.wireOut += head.length + tail.length;
      this.port.write(head + tail);
    }
    this.complete();
  }

  reset(): void {
    this.port.destroy();
  }

  onClose(listener: StreamListener): void {
    if (this.closeFired) return void queueMicrotask(() => listener.downstreamClosed());
    this.closeListener = listener;
  }

  /**
   * stream_idle_timeout. A long one (Envoy's default is 5 minutes) is checked by the
   * connection manager's sweep, at most a second late, instead of a timer created and
   * cleared for every request; short ones keep a real timer.
   */
  setIdleTimeout(ms: number, listener: StreamListener): void {
    this.idleMs = ms;
    this.idleListener = listener;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (ms > 0 && ms < COARSE_IDLE_MIN_MS) this.idleTimer = setTimeout(checkIdle, ms, this);
  }

  /** The sweep's check of a long stream idle timeout. */
  checkCoarseIdle(now: number): void {
    if (this.idleMs < COARSE_IDLE_MIN_MS || this.finished || this.port.gone || !this.idleListener) return;
    if (now - this.port.lastActive >= this.idleMs) {
      const l = this.idleListener;
      this.idleListener = undefined;
      l.streamIdleTimedOut();
    }
  }

  closeAfterResponse(): void {
    this.closeAfter = true;
  }

  settleWireBytes(info: WireByteInfo): void {
    info.wireBytesReceived = this.wireIn;
    info.wireBytesSent = this.wireOut;
  }

  /** The socket went away: abort the body and tell the stream's owner. */
  connectionGone(): void {
    if (this.body && this.bodyRemaining > 0 && !this.body.destroyed) this.body.destroy(new Error("downstream connection closed before the request body was complete"));
    this.fireClose();
  }

  /** Stream idle timer: fires only after `idleMs` without traffic either way. */
  checkIdle(): void {
    if (this.finished || this.port.gone || !this.idleListener) return;
    const idleFor = Date.now() - this.port.lastActive;
    if (idleFor >= this.idleMs) this.idleListener.streamIdleTimedOut();
    else this.idleTimer = setTimeout(checkIdle, this.idleMs - idleFor, this);
  }

  /** Writes a head still held back (its body did not follow in the same tick). */
  flushHead(): void {
    const head = this.pendingHead;
    if (head === undefined || this.port.gone) return;
    this.pendingHead = undefined;
    this.wireOut += head.length;
    this.port.write(head);
  }

  private complete(): void {
    this.finished = true;
    clearTimeout(this.idleTimer);
    // A completed response closes the stream without a notification: its owner ends it
    // itself (Downstream.onClose), and a microtask per request only to say so costs more
    // than the rest of the stream's bookkeeping.
    this.closeFired = true;
    this.closeListener = undefined;
    this.port.responseDone(this);
  }

  private fireClose(): void {
    if (this.closeFired) return;
    this.closeFired = true;
    const l = this.closeListener;
    this.closeListener = undefined;
    l?.downstreamClosed();
  }
}

/**
 * Heads held back for their body, flushed together at the end of the tick. One
 * already-resolved promise's reaction per batch: queueMicrotask would wrap every
 * call in an AsyncResource and a bound function.
 */
const heldHeads: LeanHttp1Stream[] = [];
const resolved = Promise.resolve();

function deferHeadFlush(s: LeanHttp1Stream): void {
  if (heldHeads.push(s) === 1) void resolved.then(flushHeldHeads);
}

function flushHeldHeads(): void {
  const n = heldHeads.length;
  try {
    for (let i = 0; i < n; i++) heldHeads[i].flushHead();
  } finally {
    if (heldHeads.length === n) heldHeads.length = 0;
    else heldHeads.splice(0, n);
    // Held while this batch was written: their own turn comes at the end of this tick.
    if (heldHeads.length > 0) void resolved.then(flushHeldHeads);
  }
}

function checkIdle(s: LeanHttp1Stream): void {
  s.checkIdle();
}

/** One buffer holding a latin1 prefix, the chunk and a latin1 suffix: one write instead of three. */
function join(prefix: string, chunk: Buffer, suffix: string): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + chunk.length + suffix.length);
  out.write(prefix, 0, "latin1");
  chunk.copy(out, prefix.length);
  if (suffix.length > 0) out.write(suffix, prefix.length + chunk.length, "latin1");
  return out;
}
