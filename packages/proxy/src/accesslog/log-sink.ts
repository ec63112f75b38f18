import { open, type FileHandle } from "node:fs/promises";
import type { Logger } from "pino";
import type { StatsStore } from "../contracts.js";

/** One destination (a file path, stdout or stderr), shared by every logger writing there. */
export interface LogSink {
  /** Appends a line to the buffer; never blocks or throws. */
  write(line: string): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface LogSinkOptions {
  flushIntervalMs: number;
  /** Lines buffered beyond this many bytes are dropped and counted. */
  maxBufferBytes?: number;
  stats: StatsStore;
  logger: Logger;
}

export type LogSinkTarget =
  | { kind: "file"; path: string; fallbackStream?: NodeJS.WritableStream }
  | { kind: "stream"; stream: NodeJS.WritableStream };

// Envoy's AccessLogFileImpl buffers in memory and flushes from a separate
// thread every --file-flush-interval-msec or when 64 KiB accumulate. Here the
// flush is an async write; while one is in flight, lines keep buffering.
// Each line is encoded into a 64 KiB block the moment it is written, so the
// line's string dies young: keeping hundreds of lines as strings until the
// flush made every one of them survive scavenges (GC was a fifth of the
// proxy's time with Istio's access log on).
const BLOCK_BYTES = 64 * 1024;
const SPARE_BLOCKS = 4;

export function createLogSink(initialTarget: LogSinkTarget, options: LogSinkOptions): LogSink {
  let target = initialTarget;
  const maxBuffer = options.maxBufferBytes ?? 16 * 1024 * 1024;
  const buffered = options.stats.counter("filesystem.write_buffered");
  const completed = options.stats.counter("filesystem.write_completed");
  const failed = options.stats.counter("filesystem.write_failed");
  const byTimer = options.stats.counter("filesystem.flushed_by_timer");
  const dropped = options.stats.counter("filesystem.write_dropped");
  const pendingBytes = options.stats.gauge("filesystem.write_total_buffered");

  // Blocks are reused once written: a fresh one per flush would be freed only by a full GC (it lives
  // through the write), and the malloc heap grew by ~8 MB under load waiting for that.
  const spare: Buffer[] = [];
  let block: Buffer = Buffer.allocUnsafeSlow(BLOCK_BYTES);
  let used = 0;
  /** Filled blocks (and oversized lines) waiting for the next write. */
  let sealed: Buffer[] = [];
  let bytes = 0;
  let inFlight: Promise<void> | undefined;
  let handle: Promise<FileHandle> | undefined;
  let closed = false;
  let reportedFailure = false;

  const getHandle = () => (handle ??= open((target as { path: string }).path, "a"));

  const seal = (): void => {
    if (used === 0) return;
    sealed.push(block.subarray(0, used));
    block = spare.pop() ?? Buffer.allocUnsafeSlow(BLOCK_BYTES);
    used = 0;
  };

  const writeOut = async (data: Buffer[]): Promise<void> => {
    if (target.kind === "stream") {
      const stream = target.stream;
      await new Promise<void>((resolve, reject) => {
        stream.write(data.length === 1 ? data[0]! : Buffer.concat(data), (err?: Error | null) => (err ? reject(err) : resolve()));
      });
      return;
    }
    let fh: FileHandle;
    try {
      fh = await getHandle();
    } catch (err) {
      // /dev/stdout can't be opened when fd 1 is a socket (ENXIO): write to the stream instead.
      if (!target.fallbackStream) throw err;
      target = { kind: "stream", stream: target.fallbackStream };
      return writeOut(data);
    }
    await writeAll(fh, data);
  };

  const flushNow = (): Promise<void> => {
    if (inFlight) return inFlight.then(() => (bytes ? flushNow() : undefined));
    seal();
    if (sealed.length === 0) return Promise.resolve();
    const data = sealed;
    sealed = [];
    bytes = 0;
    pendingBytes.set(0);
    inFlight = writeOut(data)
      .then(() => {
        completed.inc();
        for (const b of data) if (b.buffer.byteLength === BLOCK_BYTES && b.byteOffset === 0 && spare.length < SPARE_BLOCKS) spare.push(Buffer.from(b.buffer));
      })
      .catch((err: Error) => {
        failed.inc();
        if (!reportedFailure) {
          reportedFailure = true;
          options.logger.error({ err, target: target.kind === "file" ? target.path : "stream" }, "access log write failed");
        }
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  const timer = setInterval(() => {
    if (bytes) {
      byTimer.inc();
      void flushNow();
    }
  }, Math.max(1, options.flushIntervalMs));
  timer.unref();

  return {
    write(line) {
      if (closed) return;
      // UTF-8 takes at most 3 bytes per UTF-16 unit; measure exactly only near the limits.
      let room = line.length * 3;
      if (bytes + room > maxBuffer || room > BLOCK_BYTES) room = Buffer.byteLength(line);
      if (bytes + room > maxBuffer) {
        dropped.inc();
        return;
      }
      if (room > BLOCK_BYTES) {
        seal();
        sealed.push(Buffer.from(line, "utf8"));
        bytes += room;
      } else {
        if (room > BLOCK_BYTES - used) seal();
        const n = block.write(line, used, "utf8");
        used += n;
        bytes += n;
      }
      pendingBytes.set(bytes);
      buffered.inc();
      if (sealed.length && !inFlight) void flushNow();
    },
    flush: flushNow,
    async close() {
      clearInterval(timer);
      await flushNow();
      closed = true;
      if (handle) await (await handle).close().catch(() => undefined);
    },
  };
}

/** Writes every byte of `data`, continuing after a short write. */
async function writeAll(fh: FileHandle, data: Buffer[]): Promise<void> {
  // A copy: the caller recycles the blocks in `data` once this resolves.
  const rest = data.slice();
  while (rest.length) {
    const { bytesWritten } = await fh.writev(rest);
    let n = bytesWritten;
    while (rest.length && n >= rest[0]!.length) n -= rest.shift()!.length;
    if (n > 0) rest[0] = rest[0]!.subarray(n);
    if (bytesWritten === 0 && rest.length) throw new Error("access log write made no progress");
  }
}
