// The access log sink: lines are encoded into 64 KiB blocks as they are written and reach the file (or
// stream) byte for byte and in order — across blocks, around lines larger than a block, while a write is in
// flight — and lines past max buffer are dropped and counted, never blocking the caller.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createFakeStats } from "../test-util/fake-stats.js";
import { quietLogger } from "../test-util/quiet-logger.js";
import { createLogSink, type LogSink } from "./log-sink.js";

const dir = mkdtempSync(join(tmpdir(), "weft-logsink-"));
const open: LogSink[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

function fileSink(name: string, maxBufferBytes?: number) {
  const stats = createFakeStats();
  const path = join(dir, name);
  const sink = createLogSink({ kind: "file", path }, { flushIntervalMs: 60_000, maxBufferBytes, stats, logger: quietLogger() });
  open.push(sink);
  return { sink, stats, path };
}

/** Lines of varying length with 1-, 2-, 3- and 4-byte UTF-8 characters. */
const line = (i: number): string => `${i} caf\u00e9 \u2713 \u{1F680} ${"x".repeat(i % 700)}\n`;

describe("createLogSink()", () => {
  it("writes every line byte for byte and in order across many blocks", async () => {
    const { sink, stats, path } = fileSink("many.log");
    const lines = Array.from({ length: 3000 }, (_, i) => line(i));
    for (const l of lines) sink.write(l);
    await sink.flush();
    expect(readFileSync(path).equals(Buffer.from(lines.join(""), "utf8"))).toBe(true);
    expect(stats.get("filesystem.write_buffered")).toBe(3000);
    expect(stats.get("filesystem.write_dropped")).toBe(0);
    expect(stats.get("filesystem.write_completed")).toBeGreaterThan(1);
  });

  it("keeps order around lines larger than a block and while a write is in flight", async () => {
    const { sink, path } = fileSink("big.log");
    const big = `${"\u00e9".repeat(100_000)}\n`;
    const expected: string[] = [];
    const put = (l: string): void => {
      expected.push(l);
      sink.write(l);
    };
    put("first\n");
    put(big);
    const inFlight = sink.flush();
    for (let i = 0; i < 500; i++) put(line(i));
    put(big);
    put("last\n");
    await inFlight;
    await sink.flush();
    expect(readFileSync(path, "utf8")).toBe(expected.join(""));
  });

  it("reuses its blocks once written: a steady stream of lines allocates no new ones", async () => {
    const { sink, path } = fileSink("reuse.log");
    const expected: string[] = [];
    const alloc = vi.spyOn(Buffer, "allocUnsafeSlow");
    try {
      // 40 rounds of ~100 KiB, each flushed: every round fills and writes at least one block.
      for (let round = 0; round < 40; round++) {
        for (let i = 0; i < 150; i++) {
          const l = line(round * 150 + i);
          expected.push(l);
          sink.write(l);
        }
        await sink.flush();
      }
      // A fresh block is taken only while every spare one is still being written.
      expect(alloc.mock.calls.length).toBeLessThanOrEqual(4);
    } finally {
      alloc.mockRestore();
    }
    expect(readFileSync(path, "utf8")).toBe(expected.join(""));
  });

  it("drops what would pass maxBufferBytes, counts it, and keeps what fits", async () => {
    const { sink, stats, path } = fileSink("drop.log", 1000);
    for (let i = 0; i < 30; i++) sink.write(`${"y".repeat(99)}\n`);
    expect(stats.get("filesystem.write_dropped")).toBe(20);
    expect(stats.get("filesystem.write_total_buffered")).toBe(1000);
    await sink.flush();
    expect(readFileSync(path, "utf8")).toBe(`${"y".repeat(99)}\n`.repeat(10));
    sink.write("after\n");
    await sink.flush();
    expect(readFileSync(path, "utf8").endsWith("y\nafter\n")).toBe(true);
  });

  it("writes to a stream target", async () => {
    const got: Buffer[] = [];
    const stream = new Writable({ write: (chunk: Buffer, _e, cb) => (got.push(chunk), cb()) });
    const sink = createLogSink({ kind: "stream", stream }, { flushIntervalMs: 60_000, stats: createFakeStats(), logger: quietLogger() });
    open.push(sink);
    const lines = Array.from({ length: 400 }, (_, i) => line(i));
    for (const l of lines) sink.write(l);
    await sink.flush();
    expect(Buffer.concat(got).toString("utf8")).toBe(lines.join(""));
  });

  it("flushes on its interval without being asked", async () => {
    const stats = createFakeStats();
    const path = join(dir, "timer.log");
    const sink = createLogSink({ kind: "file", path }, { flushIntervalMs: 20, stats, logger: quietLogger() });
    open.push(sink);
    sink.write("tick\n");
    for (let i = 0; i < 100 && stats.get("filesystem.write_completed") === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(readFileSync(path, "utf8")).toBe("tick\n");
    expect(stats.get("filesystem.flushed_by_timer")).toBe(1);
  });
});
