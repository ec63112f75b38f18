// A raw HTTP/2 frame writer and reader for hostile-input tests: it sends what
// a well-behaved client library never would (floods, malformed header blocks),
// with HPACK literals only (no Huffman, no table), which every decoder accepts.
import * as net from "node:net";

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export const FrameType = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const ErrorCode = { NO_ERROR: 0, PROTOCOL_ERROR: 1, CANCEL: 8, ENHANCE_YOUR_CALM: 11 } as const;

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

function hpackInt(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  value -= max;
  while (value >= 128) {
    out.push((value & 127) | 128);
    value >>= 7;
  }
  out.push(value);
  return out;
}

/** HPACK "literal header field without indexing — new name", raw (latin1) strings. */
export function hpack(headers: Array<[string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [n, v] of headers) {
    const name = Buffer.from(n, "latin1");
    const value = Buffer.from(v, "latin1");
    parts.push(Buffer.from([0x00, ...hpackInt(name.length, 7, 0)]), name, Buffer.from(hpackInt(value.length, 7, 0)), value);
  }
  return Buffer.concat(parts);
}

export function requestHeaders(port: number, path = "/ok", method = "GET", extra: Array<[string, string]> = []): Array<[string, string]> {
  return [[":method", method], [":scheme", "http"], [":authority", `127.0.0.1:${port}`], [":path", path], ...extra];
}

export interface RawFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export interface H2Conn {
  socket: net.Socket;
  frames: RawFrame[];
  closed: Promise<void>;
  isClosed(): boolean;
  write(b: Buffer): boolean;
  /** First GOAWAY's error code, if one arrived. */
  goawayCode(): number | undefined;
  /** Resolves with the first frame matching, or undefined when the connection closes or the time is up. */
  waitFor(pred: (f: RawFrame) => boolean, ms?: number): Promise<RawFrame | undefined>;
}

/** Connects, sends the preface and an empty SETTINGS; parses (and keeps up to `keep`) frames received. */
export function h2connect(port: number, opts: { read?: boolean; keep?: number } = {}): Promise<H2Conn> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const frames: RawFrame[] = [];
    let buf: Buffer = Buffer.alloc(0);
    let closed = false;
    let goaway: number | undefined;
    const waiters = new Set<() => void>();
    const closedP = new Promise<void>((r) => socket.once("close", () => {
      closed = true;
      for (const w of waiters) w();
      r();
    }));
    socket.on("error", () => {});
    socket.on("data", (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const f: RawFrame = { type: buf[3], flags: buf[4], streamId: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) };
        buf = buf.subarray(9 + len);
        if (f.type === FrameType.GOAWAY && goaway === undefined) goaway = f.payload.readUInt32BE(4);
        if (frames.length < (opts.keep ?? 1000)) frames.push(f);
        for (const w of waiters) w();
      }
    });
    socket.once("connect", () => {
      socket.write(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0)]));
      if (opts.read === false) socket.pause();
      resolve({
        socket,
        frames,
        closed: closedP,
        isClosed: () => closed,
        write: (b) => (closed ? false : socket.write(b)),
        goawayCode: () => goaway,
        waitFor(pred, ms = 5000) {
          return new Promise((r) => {
            const check = (): void => {
              const f = frames.find(pred);
              if (f || closed) {
                waiters.delete(check);
                clearTimeout(t);
                r(f);
              }
            };
            const t = setTimeout(() => {
              waiters.delete(check);
              r(frames.find(pred));
            }, ms);
            waiters.add(check);
            check();
          });
        },
      });
    });
    socket.once("error", reject);
  });
}
