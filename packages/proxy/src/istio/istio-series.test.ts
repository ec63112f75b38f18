import { describe, expect, it } from "vitest";
import { createFakeStats } from "../test-util/fake-stats.js";
import { quietLogger } from "../test-util/quiet-logger.js";
import { istioSeries, MAX_ISTIO_SERIES } from "./istio-series.js";

describe("istioSeries()", () => {
  it("shares one table per stats store between its users, and none between stores", () => {
    const stats = createFakeStats();
    const a = istioSeries(stats, quietLogger());
    const made = a.get("k", () => ({ n: 1 }));
    expect(istioSeries(stats, quietLogger()).get("k", () => ({ n: 2 }))).toBe(made);
    expect(istioSeries(createFakeStats(), quietLogger()).get("k", () => ({ n: 3 }))).toEqual({ n: 3 });
  });

  it("records no new label set past the cap, keeps the existing ones, and logs once", () => {
    const warnings: unknown[] = [];
    const logger = Object.assign(quietLogger(), { warn: (...args: unknown[]) => void warnings.push(args) });
    const t = istioSeries(createFakeStats(), logger);
    for (let i = 0; i < MAX_ISTIO_SERIES; i++) t.get(`k${i}`, () => ({}));
    expect(t.get("one-too-many", () => ({}))).toBeUndefined();
    expect(t.get("another", () => ({}))).toBeUndefined();
    expect(t.get("k0", () => ({ fresh: true }))).toEqual({});
    expect(t.size).toBe(MAX_ISTIO_SERIES);
    expect(warnings).toHaveLength(1);
  });
});
