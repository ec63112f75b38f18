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
const FLUSH_AT_BYTES = 64 * 1024;

export function createLogSink(initialTarget: LogSinkTarget, options: LogSinkOptions): LogSink {
  let target = initialTarget;
  const maxBuffer = options.maxBufferBytes ?? 16 * 1024 * 1024;
  const buffered = options.stats.counter("filesystem.write_buffered");
  const completed = options.stats.counter("filesystem.write_completed");
  const failed = options.stats.counter("filesystem.write_failed");
  const byTimer = options.stats.counter("filesystem.flushed_by_timer");
  const dropped = options.stats.counter("filesystem.write_dropped");
  const pendingBytes = options.stats.gauge("filesystem.write_total_buffered");

  let chunks: string[] = [];
  let bytes = 0;
  let inFlight: Promise<void> | undefined;
  let handle: Promise<FileHandle> | undefined;
  let closed = false;
  let reportedFailure = false;

  const getHandle = () => (handle ??= open((target as { path: string }).path, "a"));

  const writeOut = async (data: string): Promise<void> => {
    if (target.kind === "stream") {
      const stream = target.stream;
      await new Promise<void>((resolve, reject) => {
        stream.write(data, (err?: Error | null) => (err ? reject(err) : resolve()));
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
    await fh.write(data);
  };

  const flushNow = (): Promise<void> => {
    if (inFlight) return inFlight.then(() => (chunks.length ? flushNow() : undefined));
    if (chunks.length === 0) return Promise.resolve();
    const data = chunks.join("");
    chunks = [];
    bytes = 0;
    pendingBytes.set(0);
    inFlight = writeOut(data)
      .then(() => completed.inc())
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
    if (chunks.length) {
      byTimer.inc();
      void flushNow();
    }
  }, Math.max(1, options.flushIntervalMs));
  timer.unref();

  return {
    write(line) {
      if (closed) return;
      if (bytes + line.length > maxBuffer) {
        dropped.inc();
        return;
      }
      chunks.push(line);
      bytes += line.length;
      pendingBytes.set(bytes);
      buffered.inc();
      if (bytes >= FLUSH_AT_BYTES && !inFlight) void flushNow();
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
