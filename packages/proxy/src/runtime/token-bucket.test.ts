import { describe, expect, it } from "vitest";
import { TokenBucket } from "./token-bucket.js";

function clocked(spec: { maxTokens: number; tokensPerFill: number; fillIntervalMs: number }) {
  let now = 1_000;
  const bucket = new TokenBucket(spec, () => now);
  return { bucket, advance: (ms: number) => void (now += ms) };
}

const drain = (b: TokenBucket): number => {
  let n = 0;
  while (b.tryConsume()) n++;
  return n;
};

describe("TokenBucket", () => {
  it("starts full and refuses once empty", () => {
    const { bucket } = clocked({ maxTokens: 3, tokensPerFill: 1, fillIntervalMs: 1000 });
    expect(drain(bucket)).toBe(3);
    expect(bucket.tryConsume()).toBe(false);
  });

  it("adds tokens_per_fill per whole interval only", () => {
    const { bucket, advance } = clocked({ maxTokens: 10, tokensPerFill: 2, fillIntervalMs: 100 });
    drain(bucket);
    advance(99);
    expect(bucket.tryConsume()).toBe(false);
    advance(1);
    expect(drain(bucket)).toBe(2);
    advance(250);
    expect(drain(bucket)).toBe(4);
  });

  it("keeps the fill phase: a request mid-interval does not restart the interval", () => {
    const { bucket, advance } = clocked({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 100 });
    drain(bucket);
    advance(150);
    expect(bucket.tryConsume()).toBe(true);
    expect(bucket.msUntilNextFill()).toBe(50);
    advance(50);
    expect(bucket.tryConsume()).toBe(true);
  });

  it("never holds more than max_tokens, however long it idles", () => {
    const { bucket, advance } = clocked({ maxTokens: 3, tokensPerFill: 5, fillIntervalMs: 50 });
    drain(bucket);
    advance(3_600_000);
    expect(bucket.remaining()).toBe(3);
    expect(drain(bucket)).toBe(3);
  });
});
