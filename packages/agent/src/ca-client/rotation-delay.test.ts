import { describe, expect, it } from "vitest";
import { rotationDelayMs } from "./rotation-delay.js";

const base = { createdAt: 1_000_000, expiresAt: 1_000_000 + 60_000, graceRatio: 0.5, graceRatioJitter: 0.01, now: 1_000_000 };

describe("rotationDelayMs()", () => {
  it("renews a 1-minute certificate at half its life without jitter", () => {
    // random 0.4 → sign 0 (no jitter)
    expect(rotationDelayMs({ ...base, random: () => 0.4 })).toBe(30_000);
  });

  it.each([
    ["a larger grace period renews earlier", 0.99, 30_000 - 0.99 * 0.01 * 60_000],
    ["a smaller grace period renews later", 0.01, 30_000 + 0.01 * 0.01 * 60_000],
  ])("jitters by at most 1 %% of the lifetime: %s", (_n, r, want) => {
    expect(rotationDelayMs({ ...base, random: () => r })).toBeCloseTo(want, 6);
  });

  it("stays within ±1 % of the lifetime around 50 % for any randomness", () => {
    for (let i = 0; i < 200; i++) {
      const d = rotationDelayMs({ ...base, random: Math.random });
      expect(d).toBeGreaterThanOrEqual(30_000 - 600);
      expect(d).toBeLessThanOrEqual(30_000 + 600);
    }
  });

  it("is measured from receipt, and never negative", () => {
    expect(rotationDelayMs({ ...base, now: base.createdAt + 10_000, random: () => 0.4 })).toBe(20_000);
    expect(rotationDelayMs({ ...base, now: base.expiresAt + 1, random: () => 0.4 })).toBe(0);
  });
});
