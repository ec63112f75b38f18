import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { createSharedBucketMemory, hashBucketKey, SharedBucketTable } from "./shared-bucket-table.js";
import type { Bucket } from "./token-bucket.js";

const spec = (maxTokens: number, tokensPerFill: number, fillIntervalMs: number) => ({ maxTokens, tokensPerFill, fillIntervalMs });

/** A table on fresh memory, read with a clock the test moves. */
function clocked(capacity = 16) {
  let now = 1_000;
  const memory = createSharedBucketMemory(capacity);
  const open = () => new SharedBucketTable(memory, () => now);
  return { memory, table: open(), open, advance: (ms: number) => void (now += ms) };
}

const drain = (b: Bucket): number => {
  let n = 0;
  while (b.tryConsume()) n++;
  return n;
};

describe("SharedBucketTable", () => {
  it("gives a key the same bucket in every view of the memory (every worker), and another key its own", () => {
    const { table, open } = clocked();
    const s = spec(3, 1, 60_000);
    expect(table.bucket("rc\u0000a", s)!.tryConsume()).toBe(true);
    const other = open();
    expect(other.bucket("rc\u0000a", s)!.remaining()).toBe(2);
    expect(drain(other.bucket("rc\u0000a", s)!)).toBe(2);
    expect(table.bucket("rc\u0000a", s)!.tryConsume()).toBe(false);
    expect(other.bucket("rc\u0000b", s)!.remaining()).toBe(3);
    expect(table.used()).toBe(2);
  });

  it("starts full and adds tokens_per_fill per whole interval only", () => {
    const { table, advance } = clocked();
    const b = table.bucket("k", spec(10, 2, 100))!;
    expect(drain(b)).toBe(10);
    advance(99);
    expect(b.tryConsume()).toBe(false);
    advance(1);
    expect(drain(b)).toBe(2);
    advance(250);
    expect(drain(b)).toBe(4);
  });

  it("keeps the fill phase: a request mid-interval does not restart the interval", () => {
    const { table, advance } = clocked();
    const b = table.bucket("k", spec(1, 1, 100))!;
    drain(b);
    advance(150);
    expect(b.tryConsume()).toBe(true);
    expect(b.msUntilNextFill()).toBe(50);
    advance(50);
    expect(b.tryConsume()).toBe(true);
  });

  it("never holds more than max_tokens, however long it idles", () => {
    const { table, advance } = clocked();
    const b = table.bucket("k", spec(3, 5, 50))!;
    drain(b);
    advance(3_600_000);
    expect(b.remaining()).toBe(3);
    expect(drain(b)).toBe(3);
  });

  it("keeps max_tokens of a uint32 (the proto's range) whole", () => {
    const { table } = clocked();
    const b = table.bucket("k", spec(0xffffffff, 1, 1000))!;
    expect(b.tryConsume()).toBe(true);
    expect(b.remaining()).toBe(0xfffffffe);
  });

  it("returns undefined once every slot belongs to another key, and still finds the keys it holds", () => {
    const { table } = clocked(2);
    const s = spec(1, 1, 1000);
    expect(table.bucket("a", s)!.tryConsume()).toBe(true);
    expect(table.bucket("b", s)).toBeDefined();
    expect(table.bucket("c", s)).toBeUndefined();
    expect(table.bucket("a", s)!.tryConsume()).toBe(false);
    expect(table.used()).toBe(2);
  });

  it("rejects memory too small for the capacity its header claims", () => {
    const memory = createSharedBucketMemory(4);
    new Int32Array(memory, 0, 1)[0] = 4096;
    expect(() => new SharedBucketTable(memory)).toThrow(/too small for 4096 slots/);
  });

  it("never over-admits when two threads take from one bucket at once", { timeout: 30_000 }, async () => {
    const memory = createSharedBucketMemory(64);
    const admitted = await takeInTwoThreads(memory, spec(10_000, 1, 3_600_000), { takes: 10_000 });
    expect(admitted[0]! + admitted[1]!).toBe(10_000);
    expect(new SharedBucketTable(memory).used()).toBe(1);
  });

  it("adds each fill once when two threads refill it at once", { timeout: 30_000 }, async () => {
    const memory = createSharedBucketMemory(64);
    // Room above the fills, so none is lost to the cap while a busy machine keeps both threads off a core.
    const s = spec(1_000, 5, 50);
    const startedAt = performance.now();
    const admitted = await takeInTwoThreads(memory, s, { forMs: 400 });
    const elapsed = performance.now() - startedAt;
    const total = admitted[0]! + admitted[1]!;
    // The bucket was made after startedAt, so no more fills than this can have been due: a fill added twice would show.
    expect(total).toBeLessThanOrEqual(s.maxTokens + Math.floor(elapsed / s.fillIntervalMs) * s.tokensPerFill);
    expect(total).toBeGreaterThan(s.maxTokens);
  });
});

/**
 * Two worker threads open `memory`, claim the same key (racing the claim too),
 * meet at a barrier, then take from it as fast as they can: `takes` times each,
 * or for `forMs`. Resolves with each thread's successes.
 */
async function takeInTwoThreads(memory: SharedArrayBuffer, s: ReturnType<typeof spec>, until: { takes?: number; forMs?: number }): Promise<number[]> {
  // Worker threads can't load TypeScript: bundle the module under test for them.
  const bundled = await build({ entryPoints: [fileURLToPath(new URL("./shared-bucket-table.ts", import.meta.url))], bundle: true, write: false, format: "cjs", platform: "node" });
  const lib = bundled.outputFiles[0]!.text;
  const body = `
    const module = { exports: {} };
    (function (module, exports) { ${lib} })(module, module.exports);
    const { SharedBucketTable } = module.exports;
    const { parentPort, workerData } = require("node:worker_threads");
    const { memory, barrier, spec, takes, forMs } = workerData;
    const bucket = new SharedBucketTable(memory).bucket("shared", spec);
    Atomics.add(barrier, 0, 1);
    while (Atomics.load(barrier, 0) < 2) {}
    let ok = 0;
    const end = performance.now() + (forMs ?? 0);
    for (let i = 0; takes !== undefined ? i < takes : performance.now() < end; i++) if (bucket.tryConsume()) ok++;
    parentPort.postMessage(ok);`;
  const barrier = new Int32Array(new SharedArrayBuffer(4));
  const workerData = { memory, barrier, spec: s, ...until };
  const run = () =>
    new Promise<number>((resolve, reject) => {
      const w = new Worker(body, { eval: true, workerData });
      w.once("message", (n: number) => void w.terminate().then(() => resolve(n)));
      w.once("error", reject);
    });
  return Promise.all([run(), run()]);
}

describe("hashBucketKey()", () => {
  it("is a stable 64-bit FNV-1a (the same in every worker and every run)", () => {
    expect(hashBucketKey("")).toBe(0xcbf29ce484222325n);
    expect(hashBucketKey("a")).toBe(0xaf63dc4c8601ec8cn);
    expect(hashBucketKey("rc\u0000routes[0]\u00004/4/60000/shared")).not.toBe(hashBucketKey("rc\u0000routes[0]\u00004/4/60000/conn"));
  });
});
