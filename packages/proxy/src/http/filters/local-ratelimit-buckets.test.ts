import { describe, expect, it } from "vitest";
import type { ConnInfo } from "../../listener/conn-info.js";
import { createSharedBucketMemory, SharedBucketTable } from "../../runtime/shared-bucket-table.js";
import { createRateLimiterCache } from "./local-ratelimit-buckets.js";

const spec = { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 };
const conn = (port: number): ConnInfo => ({ remoteIp: "127.0.0.1", remotePort: port, localAddress: "127.0.0.1:80", remoteAddress: `127.0.0.1:${port}`, transportProtocol: "raw_buffer", listenerName: "l" });

describe("createRateLimiterCache()", () => {
  it("gives the same limiter for the same place and bucket, a new one when either changes", () => {
    const cache = createRateLimiterCache();
    const a = cache.get("rc\u0000routes[0]", spec, false);
    expect(cache.get("rc\u0000routes[0]", { ...spec }, false)).toBe(a);
    expect(cache.get("rc\u0000routes[1]", spec, false)).not.toBe(a);
    expect(cache.get("rc\u0000routes[0]", { ...spec, maxTokens: 2 }, false)).not.toBe(a);
    expect(cache.get("rc\u0000routes[0]", spec, true)).not.toBe(a);
  });

  it("keeps caches apart (one per filter registry, so per runtime)", () => {
    expect(createRateLimiterCache().get("x", spec, false)).not.toBe(createRateLimiterCache().get("x", spec, false));
  });
});

describe("RateLimiter", () => {
  it("shares one bucket between connections unless per-connection", () => {
    const cache = createRateLimiterCache();
    const shared = cache.get("s", spec, false);
    expect(shared.bucketFor(conn(1)).tryConsume()).toBe(true);
    expect(shared.bucketFor(conn(2)).tryConsume()).toBe(false);
    const perConn = cache.get("c", spec, true);
    const c1 = conn(1);
    expect(perConn.bucketFor(c1).tryConsume()).toBe(true);
    expect(perConn.bucketFor(c1).tryConsume()).toBe(false);
    expect(perConn.bucketFor(conn(2)).tryConsume()).toBe(true);
  });
});

describe("createRateLimiterCache() with a shared bucket table (worker threads)", () => {
  /** Two workers' caches over one table's memory, and what they warned. */
  function twoWorkers(capacity = 16) {
    const memory = createSharedBucketMemory(capacity);
    const warnings: unknown[][] = [];
    const logger = { warn: (...args: unknown[]) => void warnings.push(args) };
    const worker = () => createRateLimiterCache({ shared: new SharedBucketTable(memory), logger: logger as never });
    return { a: worker(), b: worker(), warnings };
  }

  it("gives both workers one bucket for the same place and parameters, and separate ones otherwise", () => {
    const { a, b } = twoWorkers();
    const two = { ...spec, maxTokens: 2 };
    expect(a.get("rc\u0000routes[0]", two, false).bucketFor(conn(1)).tryConsume()).toBe(true);
    expect(b.get("rc\u0000routes[0]", two, false).bucketFor(conn(2)).tryConsume()).toBe(true);
    expect(a.get("rc\u0000routes[0]", two, false).bucketFor(conn(3)).tryConsume()).toBe(false);
    expect(b.get("rc\u0000routes[1]", two, false).bucketFor(conn(2)).tryConsume()).toBe(true);
    expect(b.get("rc\u0000routes[0]", { ...two, fillIntervalMs: 1000 }, false).bucketFor(conn(2)).tryConsume()).toBe(true);
  });

  it("keeps per-connection buckets per worker", () => {
    const { a, b } = twoWorkers();
    expect(a.get("c", spec, true).bucketFor(conn(1)).tryConsume()).toBe(true);
    expect(b.get("c", spec, true).bucketFor(conn(1)).tryConsume()).toBe(true);
  });

  it("falls back to a worker's own bucket, with one warning, when the table is full", () => {
    const { a, b, warnings } = twoWorkers(1);
    expect(a.get("first", spec, false).bucketFor(conn(1)).tryConsume()).toBe(true);
    expect(b.get("first", spec, false).bucketFor(conn(1)).tryConsume()).toBe(false);
    expect(a.get("second", spec, false).bucketFor(conn(1)).tryConsume()).toBe(true);
    expect(a.get("third", spec, false).bucketFor(conn(1)).tryConsume()).toBe(true);
    // Not shared: the other worker's "second" is a bucket of its own, full.
    expect(b.get("second", spec, false).bucketFor(conn(1)).tryConsume()).toBe(true);
    expect(warnings.map((w) => w.at(-1))).toEqual([expect.stringMatching(/shared bucket table is full/), expect.stringMatching(/shared bucket table is full/)]);
    expect(warnings[0]![0]).toEqual({ capacity: 1 });
  });

  it("says once, with the first shared bucket, that a worker process's buckets are its own", () => {
    const warnings: unknown[] = [];
    const cache = createRateLimiterCache({ logger: { warn: (m: unknown) => void warnings.push(m) } as never, unsharedNote: "not shared" });
    cache.get("c", spec, true);
    expect(warnings).toEqual([]);
    cache.get("a", spec, false);
    cache.get("b", spec, false);
    expect(warnings).toEqual(["not shared"]);
  });
});
