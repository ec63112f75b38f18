// The outlier detector's rules on a manual clock: local-origin errors (split
// or not), gateway failures (detected, enforced only when asked), success rate,
// failure percentage, enforcing percentages and the max_ejection_time cap.
import { describe, expect, it } from "vitest";
import { compileOutlier } from "../runtime/compile-cluster-resilience.js";
import { createFakeStats } from "../test-util/fake-stats.js";
import { createHost, type Host } from "./host.js";
import { createOutlierDetector, type OutlierConfig } from "./outlier-detector.js";
import { create } from "@bufbuild/protobuf";
import { OutlierDetectionSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/outlier_detection_pb.js";

function setup(over: Partial<OutlierConfig> = {}, n = 2, random = () => 0) {
  const stats = createFakeStats();
  let t = 0;
  let changes = 0;
  const cfg = { ...compileOutlier(create(OutlierDetectionSchema, {}), "c"), maxEjectionPercent: 100, ...over };
  const d = createOutlierDetector(cfg, { stats, clusterName: "c", random, now: () => t, onChange: () => changes++ });
  const hosts: Host[] = Array.from({ length: n }, (_, i) => createHost({ ip: "127.0.0.1", port: 1000 + i }));
  d.setHosts(hosts);
  return {
    d,
    hosts,
    stat: (n: string) => stats.get("cluster.c.outlier_detection." + n),
    advance(ms: number) {
      t += ms;
      d.tick();
    },
    get changes() {
      return changes;
    },
    close: () => d.close(),
  };
}

describe("outlier detector", () => {
  it("uses Envoy's defaults", () => {
    const c = compileOutlier(create(OutlierDetectionSchema, {}), "c");
    expect(c).toMatchObject({ intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 300_000, maxEjectionPercent: 10, consecutive5xx: 5, enforcingConsecutive5xx: 100, consecutiveGatewayFailure: 5, enforcingConsecutiveGatewayFailure: 0, successRateStdevFactor: 1900, failurePercentageThreshold: 85 });
  });

  it("counts connect failures and timeouts as 503/504 when not split; a success in between resets the run", () => {
    const s = setup();
    const [a] = s.hosts;
    for (let i = 0; i < 4; i++) s.d.reportLocal(a, "connect_failed");
    s.d.reportHttp(a, 200);
    for (let i = 0; i < 4; i++) s.d.reportLocal(a, "timeout");
    expect(a.healthy).toBe(true);
    s.d.reportLocal(a, "connect_failed");
    expect(a.healthFlags).toEqual(["/failed_outlier_check"]);
    // Gateway failures were detected too but are not enforced by default.
    expect(s.stat("ejections_detected_consecutive_gateway_failure")).toBe(1);
    expect(s.stat("ejections_enforced_consecutive_gateway_failure") ?? 0).toBe(0);
    s.close();
  });

  it("split_external_local_origin_errors: local failures have their own counter and ejection type", () => {
    const s = setup({ splitExternalLocalOriginErrors: true });
    const [a] = s.hosts;
    for (let i = 0; i < 4; i++) s.d.reportLocal(a, "connect_failed");
    s.d.reportHttp(a, 503); // external: not part of the local-origin run
    expect(a.healthy).toBe(true);
    s.d.reportLocal(a, "reset");
    expect(a.healthy).toBe(false);
    expect(s.stat("ejections_enforced_consecutive_local_origin_failure")).toBe(1);
    expect(s.stat("ejections_enforced_consecutive_5xx") ?? 0).toBe(0);
    s.close();
  });

  it("enforcing_consecutive_5xx 0 detects without ejecting", () => {
    const s = setup({ enforcingConsecutive5xx: 0 });
    for (let i = 0; i < 5; i++) s.d.reportHttp(s.hosts[0], 500);
    expect(s.hosts[0].healthy).toBe(true);
    expect(s.stat("ejections_detected_consecutive_5xx")).toBe(1);
    expect(s.stat("ejections_enforced_total") ?? 0).toBe(0);
    s.close();
  });

  it("caps base_ejection_time × ejections at max_ejection_time", () => {
    const s = setup({ baseEjectionTimeMs: 1000, maxEjectionTimeMs: 2500 });
    const [a] = s.hosts;
    const ejectFor = (): number => {
      for (let i = 0; i < 5; i++) s.d.reportHttp(a, 500);
      expect(a.healthy).toBe(false);
      let ms = 0;
      while (!a.healthy) {
        s.advance(100);
        ms += 100;
      }
      return ms;
    };
    expect(ejectFor()).toBe(1000);
    expect(ejectFor()).toBe(2000);
    expect(ejectFor()).toBe(2500);
    expect(ejectFor()).toBe(2500);
    s.close();
  });

  it("lowers the ejection multiplier by one per interval the host stays in", () => {
    const s = setup({ baseEjectionTimeMs: 1000 });
    const [a] = s.hosts;
    const ejectFor = (): number => {
      for (let i = 0; i < 5; i++) s.d.reportHttp(a, 500);
      let ms = 0;
      while (!a.healthy) {
        s.advance(100);
        ms += 100;
      }
      return ms;
    };
    expect(ejectFor()).toBe(1000);
    expect(ejectFor()).toBe(2000);
    s.advance(100);
    s.advance(100);
    expect(ejectFor()).toBe(1000);
    s.close();
  });

  it("ejects a host whose success rate is below mean − 1.9 stdev (enough hosts and volume)", () => {
    const s = setup({ successRateMinimumHosts: 5, successRateRequestVolume: 10, consecutive5xx: 1000 }, 6);
    s.hosts.forEach((h, i) => {
      for (let j = 0; j < 100; j++) s.d.reportHttp(h, i === 5 && j % 2 === 0 ? 500 : 200);
    });
    s.advance(10_000);
    expect(s.hosts.map((h) => h.healthy)).toEqual([true, true, true, true, true, false]);
    expect(s.stat("ejections_enforced_success_rate")).toBe(1);
    s.close();
  });

  it("failure_percentage ejects past the threshold only when enforced", () => {
    const s = setup({ failurePercentageMinimumHosts: 2, failurePercentageRequestVolume: 10, enforcingFailurePercentage: 100, consecutive5xx: 1000, successRateMinimumHosts: 100 }, 3);
    s.hosts.forEach((h, i) => {
      for (let j = 0; j < 20; j++) s.d.reportHttp(h, i === 0 && j < 18 ? 503 : 200);
    });
    s.advance(10_000);
    expect(s.hosts.map((h) => h.healthy)).toEqual([false, true, true]);
    expect(s.stat("ejections_enforced_failure_percentage")).toBe(1);
    s.close();
  });

  it("max_ejection_percent: 0 % ejects nobody unless always_eject_one_host", () => {
    const s = setup({ maxEjectionPercent: 0 });
    for (let i = 0; i < 5; i++) s.d.reportHttp(s.hosts[0], 500);
    expect(s.hosts[0].healthy).toBe(true);
    expect(s.stat("ejections_overflow")).toBe(1);
    s.close();
    const t = setup({ maxEjectionPercent: 0, alwaysEjectOneHost: true });
    for (let i = 0; i < 5; i++) t.d.reportHttp(t.hosts[0], 500);
    expect(t.hosts[0].healthy).toBe(false);
    t.close();
  });
});
