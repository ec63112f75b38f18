import { describe, expect, it } from "vitest";
import type { ConnInfo } from "../../listener/conn-info.js";
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
