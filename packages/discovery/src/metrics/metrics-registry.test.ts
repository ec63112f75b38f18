import { describe, expect, it } from "vitest";
import { createMetricsRegistry } from "./metrics-registry.js";

describe("createMetricsRegistry()", () => {
  it("renders counters and gauges with sorted, escaped labels", () => {
    const r = createMetricsRegistry();
    const c = r.counter("x_total", "X things.");
    c.inc({ type: "cds" });
    c.inc({ type: "cds" }, 2);
    const g = r.gauge("y", "Y.");
    g.set(5, { b: "2", a: 'q"\\\n' });
    expect(r.render()).toBe(
      ['# HELP x_total X things.', "# TYPE x_total counter", 'x_total{type="cds"} 3', "# HELP y Y.", "# TYPE y gauge", 'y{a="q\\"\\\\\\n",b="2"} 5', ""].join("\n"),
    );
  });

  it("renders cumulative histogram buckets with +Inf, sum and count", () => {
    const r = createMetricsRegistry();
    const h = r.histogram("lat_seconds", "Latency.", [0.5, 0.1, 1]);
    for (const v of [0.05, 0.2, 0.7, 3]) h.observe(v);
    const text = r.render();
    expect(text).toContain('lat_seconds_bucket{le="0.1"} 1\nlat_seconds_bucket{le="0.5"} 2\nlat_seconds_bucket{le="1"} 3\nlat_seconds_bucket{le="+Inf"} 4');
    expect(text).toContain("lat_seconds_sum 3.95\nlat_seconds_count 4");
  });

  it("rejects invalid names, duplicates and decreasing counters", () => {
    const r = createMetricsRegistry();
    expect(() => r.counter("bad-name", "")).toThrow(/not a valid Prometheus name/);
    r.gauge("dup", "");
    expect(() => r.gauge("dup", "")).toThrow(/registered twice/);
    expect(() => r.counter("c", "").inc({}, -1)).toThrow(/cannot decrease/);
  });
});
