// Outlier detection through the proxy with real loopback upstreams: a host
// answering 5xx is ejected after consecutive_5xx failures, stops receiving
// traffic, comes back after base_ejection_time (twice as long the second
// time), and max_ejection_percent caps how many hosts can be out.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";
import { curl, sleep, startBackend, type Backend } from "../test-util/recording-backend.js";

describe("outlier_detection", () => {
  let h: Harness;
  let bad: Backend;
  let bad2: Backend;
  let good: Backend;
  const flagsOf = (cluster: string, port: number): string[] =>
    h.runtime.clusterStatus().find((c) => c.name === cluster)!.hosts.find((x) => x.address === `127.0.0.1:${port}`)!.healthFlags;

  beforeAll(async () => {
    bad = await startBackend(() => ({ status: 500, body: "bad" }));
    bad2 = await startBackend(() => ({ status: 502, body: "bad2" }));
    good = await startBackend(() => ({ status: 200, body: "good" }));
    const od = { consecutive_5xx: 5, interval: "0.1s", base_ejection_time: "1s", max_ejection_percent: 50 };
    h = await startRuntime({
      clusters: [
        staticCluster("od", [bad.port, good.port], { lb_policy: "ROUND_ROBIN", outlier_detection: od }),
        staticCluster("allbad", [bad.port, bad2.port], { lb_policy: "ROUND_ROBIN", outlier_detection: od }),
      ],
      listeners: [
        httpListener("l", [
          {
            name: "v",
            domains: ["*"],
            routes: [
              { match: { prefix: "/od" }, route: { cluster: "od" } },
              { match: { prefix: "/allbad" }, route: { cluster: "allbad" } },
            ],
          },
        ]),
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
    await bad?.close();
    await bad2?.close();
    await good?.close();
  });

  const hitsOn = (b: Backend, prefix: string): number => b.requests.filter((r) => r.url.startsWith(prefix)).length;

  it("ejects after 5 consecutive 5xx, keeps it out for base_ejection_time, then returns it; the second ejection lasts twice as long", async () => {
    const p = h.port("l");
    // Round robin: the bad host sees every other request; its fifth 5xx ejects it.
    for (let i = 0; i < 10 && hitsOn(bad, "/od") < 5; i++) await curl(p, `/od/a${i}`);
    expect(hitsOn(bad, "/od")).toBe(5);
    const ejectedAt = Date.now();
    expect(h.stats.get("cluster.od.outlier_detection.ejections_enforced_total")).toBe(1);
    expect(h.stats.get("cluster.od.outlier_detection.ejections_enforced_consecutive_5xx")).toBe(1);
    expect(h.stats.get("cluster.od.outlier_detection.ejections_detected_consecutive_5xx")).toBe(1);
    expect(h.stats.get("cluster.od.outlier_detection.ejections_active")).toBe(1);
    expect(flagsOf("od", bad.port)).toEqual(["/failed_outlier_check"]);
    expect(h.stats.get("cluster.od.membership_healthy")).toBe(1);

    // Ejected: every request now goes to the good host.
    for (let i = 0; i < 6; i++) expect((await curl(p, `/od/b${i}`)).status).toBe(200);
    expect(hitsOn(bad, "/od/b")).toBe(0);

    // Back after base_ejection_time (1 s), on the next interval tick.
    while (h.stats.get("cluster.od.outlier_detection.ejections_active") === 1 && Date.now() - ejectedAt < 3000) await sleep(50);
    const back1 = Date.now() - ejectedAt;
    expect(back1).toBeGreaterThanOrEqual(1000);
    expect(back1).toBeLessThan(1000 + 1000);
    expect(flagsOf("od", bad.port)).toEqual([]);
    for (let i = 0; i < 4; i++) await curl(p, `/od/c${i}`);
    expect(hitsOn(bad, "/od/c")).toBeGreaterThan(0);

    // Five more failures: ejected again, now for 2 × base_ejection_time.
    for (let i = 0; i < 12 && h.stats.get("cluster.od.outlier_detection.ejections_active") === 0; i++) await curl(p, `/od/d${i}`);
    const ejected2At = Date.now();
    expect(h.stats.get("cluster.od.outlier_detection.ejections_enforced_total")).toBe(2);
    while (h.stats.get("cluster.od.outlier_detection.ejections_active") === 1 && Date.now() - ejected2At < 5000) await sleep(50);
    const back2 = Date.now() - ejected2At;
    expect(back2).toBeGreaterThanOrEqual(2000);
    expect(back2).toBeLessThan(2000 + 1000);
  });

  it("max_ejection_percent 50 keeps one of two failing hosts in (ejections_overflow)", async () => {
    const p = h.port("l");
    for (let i = 0; i < 30; i++) await curl(p, `/allbad/${i}`);
    expect(h.stats.get("cluster.allbad.outlier_detection.ejections_active")).toBe(1);
    expect(h.stats.get("cluster.allbad.outlier_detection.ejections_overflow")).toBeGreaterThanOrEqual(1);
    const flags = [flagsOf("allbad", bad.port), flagsOf("allbad", bad2.port)].map((f) => f.join(""));
    expect(flags.sort()).toEqual(["", "/failed_outlier_check"]);
  });
});
