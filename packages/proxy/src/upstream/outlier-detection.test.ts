// Outlier detection through the proxy with real loopback upstreams: a host
// answering 5xx is ejected after consecutive_5xx failures, stops receiving
// traffic, comes back after base_ejection_time (twice as long the second
// time), and max_ejection_percent caps how many hosts can be out.
import * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";
import { curl, sleep, startBackend, type Backend } from "../test-util/recording-backend.js";
import { renderClustersText } from "../admin/cluster-status.js";

/** n concurrent GETs over keep-alive: fast enough that timing-sensitive steps don't depend on machine load. */
function burst(port: number, path: string, n: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const one = (i: number): Promise<number> =>
    new Promise((resolve, reject) => {
      http.get({ host: "127.0.0.1", port, path: `${path}${i}`, agent }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode!));
      }).on("error", reject);
    });
  return Promise.all(Array.from({ length: n }, (_, i) => one(i))).finally(() => agent.destroy());
}

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
    // interval 1 s: Envoy lowers a host's ejection multiplier every interval it stays in, so the
    // re-ejection below must come within one interval of its return.
    const od = { consecutive_5xx: 5, interval: "1s", base_ejection_time: "1s", max_ejection_percent: 50 };
    h = await startRuntime({
      clusters: [
        staticCluster("od", [bad.port, good.port], { lb_policy: "ROUND_ROBIN", outlier_detection: od }),
        staticCluster("allbad", [bad.port, bad2.port], { lb_policy: "ROUND_ROBIN", outlier_detection: { ...od, interval: "0.1s", base_ejection_time: "30s" } }),
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
    // What the admin /clusters endpoint prints.
    expect(renderClustersText(h.runtime)).toContain(`od::127.0.0.1:${bad.port}::health_flags::/failed_outlier_check\n`);
    expect(renderClustersText(h.runtime)).toContain(`od::127.0.0.1:${good.port}::health_flags::healthy\n`);
    expect(h.stats.get("cluster.od.membership_healthy")).toBe(1);

    // Ejected: every request now goes to the good host.
    expect(await burst(p, "/od/b", 6)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(hitsOn(bad, "/od/b")).toBe(0);

    // Back after base_ejection_time (1 s), on the first interval tick after it (interval 1 s).
    while (h.stats.get("cluster.od.outlier_detection.ejections_active") === 1 && Date.now() - ejectedAt < 4000) await sleep(20);
    const back1 = Date.now() - ejectedAt;
    expect(back1).toBeGreaterThanOrEqual(1000);
    expect(back1).toBeLessThan(2000 + 500);
    expect(flagsOf("od", bad.port)).toEqual([]);
    const returnedAt = Date.now();

    // It takes traffic again; ten quick requests give it five more failures: ejected again, now for 2 × base_ejection_time.
    await burst(p, "/od/c", 10);
    expect(hitsOn(bad, "/od/c")).toBe(5);
    expect(Date.now() - returnedAt).toBeLessThan(1000);
    const ejected2At = Date.now();
    expect(h.stats.get("cluster.od.outlier_detection.ejections_enforced_total")).toBe(2);
    while (h.stats.get("cluster.od.outlier_detection.ejections_active") === 1 && Date.now() - ejected2At < 6000) await sleep(20);
    const back2 = Date.now() - ejected2At;
    expect(back2).toBeGreaterThanOrEqual(2000);
    expect(back2).toBeLessThan(3000 + 500);
  });

  it("max_ejection_percent 50 keeps one of two failing hosts in (ejections_overflow)", async () => {
    const p = h.port("l");
    await burst(p, "/allbad/", 30);
    expect(h.stats.get("cluster.allbad.outlier_detection.ejections_active")).toBe(1);
    expect(h.stats.get("cluster.allbad.outlier_detection.ejections_overflow")).toBeGreaterThanOrEqual(1);
    const flags = [flagsOf("allbad", bad.port), flagsOf("allbad", bad2.port)].map((f) => f.join(""));
    expect(flags.sort()).toEqual(["", "/failed_outlier_check"]);
  });
});
