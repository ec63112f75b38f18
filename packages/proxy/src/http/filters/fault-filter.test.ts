// envoy.filters.http.fault through the proxy with curl and a real upstream:
// configured and header-controlled aborts and delays, header percentages,
// downstream_nodes scoping, max_active_faults, the DI/FI flags and stats.
import * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../../test-util/runtime-harness.js";
import { curl, startBackend, type Backend } from "../../test-util/recording-backend.js";

const FAULT = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault";
const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } };
const fault = (cfg: Record<string, unknown>) => ({ "envoy.filters.http.fault": { "@type": FAULT, ...cfg } });

function getMany(port: number, path: string, n: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const one = (): Promise<number> =>
    new Promise((resolve, reject) => {
      http.get({ host: "127.0.0.1", port, path, agent }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode!));
      }).on("error", reject);
    });
  return Promise.all(Array.from({ length: n }, one)).finally(() => agent.destroy());
}

describe("fault injection", () => {
  let h: Harness;
  let be: Backend;
  beforeAll(async () => {
    be = await startBackend(() => ({ status: 200, body: "ok" }));
    h = await startRuntime({
      clusters: [staticCluster("be", [be.port])],
      listeners: [
        httpListener(
          "l",
          [
            {
              name: "v",
              domains: ["*"],
              routes: [
                { match: { prefix: "/abort" }, route: { cluster: "be" }, typed_per_filter_config: fault({ abort: { http_status: 503, percentage: { numerator: 100 } } }) },
                { match: { prefix: "/half" }, route: { cluster: "be" }, typed_per_filter_config: fault({ abort: { http_status: 500, percentage: { numerator: 50 } } }) },
                {
                  match: { prefix: "/hdr" },
                  route: { cluster: "be" },
                  typed_per_filter_config: fault({ abort: { header_abort: {}, percentage: { numerator: 100 } }, delay: { header_delay: {}, percentage: { numerator: 100 } } }),
                },
                { match: { prefix: "/nodes" }, route: { cluster: "be" }, typed_per_filter_config: fault({ abort: { http_status: 429, percentage: { numerator: 100 } }, downstream_nodes: ["node-a"] }) },
                { match: { prefix: "/max" }, route: { cluster: "be" }, typed_per_filter_config: fault({ delay: { fixed_delay: "0.5s", percentage: { numerator: 100 } }, max_active_faults: 1 }) },
                { match: { prefix: "/" }, route: { cluster: "be" } },
              ],
            },
          ],
          { http_filters: [{ name: "envoy.filters.http.fault", typed_config: { "@type": FAULT } }, ROUTER] },
        ),
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
    await be?.close();
  });

  it("aborts with the configured status, flag FI and aborts_injected", async () => {
    const r = await curl(h.port("l"), "/abort");
    expect(r.status).toBe(503);
    expect(r.body).toBe("fault filter abort");
    const log = await h.logs.waitFor((i) => i.requestHeader?.(":path") === "/abort");
    expect(log.responseFlags).toEqual(["FI"]);
    expect(log.responseCodeDetails).toBe("fault_filter_abort");
    expect(h.stats.get("http.l.fault.aborts_injected")).toBeGreaterThanOrEqual(1);
    expect(be.requests.some((x) => x.url === "/abort")).toBe(false);
  });

  it("applies the percentage (50 % of 200 requests)", async () => {
    const codes = await getMany(h.port("l"), "/half", 200);
    const aborted = codes.filter((c) => c === 500).length;
    // Binomial(200, 0.5): 60..140 is > 8 standard deviations wide.
    expect(aborted).toBeGreaterThan(60);
    expect(aborted).toBeLessThan(140);
    expect(codes.filter((c) => c === 200).length).toBe(200 - aborted);
  });

  it("header_abort / header_delay follow x-envoy-fault-* headers; the percentage header can lower the rate to 0", async () => {
    const p = h.port("l");
    expect((await curl(p, "/hdr/1")).status).toBe(200);
    expect((await curl(p, "/hdr/2", { headers: { "x-envoy-fault-abort-request": "418" } })).status).toBe(418);
    expect((await curl(p, "/hdr/3", { headers: { "x-envoy-fault-abort-request": "418", "x-envoy-fault-abort-request-percentage": "0" } })).status).toBe(200);
    const g = await curl(p, "/hdr/4", { headers: { "x-envoy-fault-abort-grpc-request": "14" } });
    expect(g.status).toBe(200);
    expect(g.headers["grpc-status"]).toBe("14");
    const d = await curl(p, "/hdr/5", { headers: { "x-envoy-fault-delay-request": "300" } });
    expect(d.status).toBe(200);
    expect(d.ms).toBeGreaterThanOrEqual(300);
    expect((await h.logs.waitFor((i) => i.requestHeader?.(":path") === "/hdr/5")).responseFlags).toEqual(["DI"]);
    expect(h.stats.get("http.l.fault.delays_injected")).toBe(1);
    const n = await curl(p, "/hdr/6", { headers: { "x-envoy-fault-delay-request": "300", "x-envoy-fault-delay-request-percentage": "0" } });
    expect(n.status).toBe(200);
    expect((await h.logs.waitFor((i) => i.requestHeader?.(":path") === "/hdr/6")).responseFlags).toEqual([]);
    expect(h.stats.get("http.l.fault.delays_injected")).toBe(1);
  });

  it("downstream_nodes limits faults to the listed x-envoy-downstream-service-node", async () => {
    const p = h.port("l");
    expect((await curl(p, "/nodes", { headers: { "x-envoy-downstream-service-node": "node-a" } })).status).toBe(429);
    expect((await curl(p, "/nodes", { headers: { "x-envoy-downstream-service-node": "node-b" } })).status).toBe(200);
    expect((await curl(p, "/nodes")).status).toBe(200);
  });

  it("max_active_faults: a second concurrent request is not delayed (faults_overflow)", async () => {
    const p = h.port("l");
    const [a, b] = await Promise.all([curl(p, "/max/1"), new Promise((r) => setTimeout(r, 100)).then(() => curl(p, "/max/2"))]);
    expect(a.ms).toBeGreaterThanOrEqual(500);
    expect(b.status).toBe(200);
    expect((await h.logs.waitFor((i) => i.requestHeader?.(":path") === "/max/1")).responseFlags).toEqual(["DI"]);
    expect((await h.logs.waitFor((i) => i.requestHeader?.(":path") === "/max/2")).responseFlags).toEqual([]);
    expect(h.stats.get("http.l.fault.faults_overflow")).toBe(1);
    expect(h.stats.get("http.l.fault.active_faults")).toBe(0);
  });
});
