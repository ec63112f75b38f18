import { describe, expect, it } from "vitest";
import { randomHex64, randomRequestId } from "./request-id.js";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("randomRequestId", () => {
  it("is a lower-case RFC 9562 version 4 UUID, unique across refills of its random pool", () => {
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = randomRequestId();
      expect(id).toMatch(UUID_V4);
      ids.add(id);
    }
    expect(ids.size).toBe(2000);
  });

  it("spreads the random nibbles evenly (no byte reused, none stuck)", () => {
    // 4000 ids × 30 random hex digits: each digit's count is ≈ 7500; a stuck or reused pool
    // byte would skew it far beyond ±10 %.
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const hex = randomRequestId().replace(/-/g, "");
      // Skip the version digit (12) and the variant digit (16).
      for (let k = 0; k < 32; k++) if (k !== 12 && k !== 16) counts.set(hex[k], (counts.get(hex[k]) ?? 0) + 1);
    }
    expect(counts.size).toBe(16);
    for (const n of counts.values()) expect(Math.abs(n - 7500)).toBeLessThan(750);
  });
});

describe("randomHex64", () => {
  it("is 16 lower-case hex digits, unique across refills, and interleaves with request ids without reuse", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const id = randomHex64();
      expect(id).toMatch(/^[0-9a-f]{16}$/);
      seen.add(id);
      // The UUIDs drawn from the same pool never repeat a trace id's bytes.
      seen.add(randomRequestId().replace(/-/g, "").slice(0, 16));
    }
    expect(seen.size).toBe(6000);
  });
});
