// Golden xDS for bookinfo (testdata/bookinfo: bookinfo.yaml, destination-rule-all.yaml,
// bookinfo-gateway.yaml, virtual-service-reviews-test-v2.yaml, the ingress gateway).
// What was compared against Istio, and holds:
// - names: clusters `outbound|9080||reviews.default.svc.cluster.local` and per-subset
//   `outbound|9080|v2|…`, `inbound|9080||`, BlackHoleCluster, PassthroughCluster;
//   listeners `0.0.0.0_9080`, `virtualOutbound`, `virtualInbound`; route configs "9080"
//   and, on the gateway, `http.8080` on listener `0.0.0.0_8080` (istio-data-path.md,
//   sidecar-configdump-authz.yaml, http-config-dump.json);
// - shapes: EDS clusters over ADS with initial_fetch_timeout 0s, connect_timeout 10s,
//   LEAST_REQUEST, max-int circuit breakers with track_remaining, istio filter_metadata
//   (default_original_port, services, config, subset) as in http-config-dump.json;
//   the gateway's productpage routes (path/prefix + case_sensitive, timeout 0s, Istio's
//   default retry policy with previous_hosts and 503, decorator `host:9080/productpage`,
//   istio.config metadata) as in http-config-dump.json's `http.8080`; the sidecar
//   virtual hosts' domain list as istio-data-path.md; virtualInbound's per-port chain
//   (route config `inbound|9080||`, virtual host `inbound|http|9080`, route `default`,
//   decorator `productpage.default.svc.cluster.local:9080/*`) as the authz dump.
// Telemetry: istio.metadata_exchange (peer_metadata) first in each HCM, istio.stats
// before the router and before each tcp_proxy, as istiod 1.22+ (telemetry-filters.ts).
// Known differences from a real istiod dump: no grpc_stats filter, no TCP
// istio.metadata_exchange network filter, and the outbound HTTP listener has one HCM
// chain (no http_inspector sniffing chain).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createPushContextBuilder } from "../push-context/push-context.js";
import { allResources, fullXdsJson, loadSnapshot, proxyOf, TESTDATA, validationIssues } from "../test-util/mesh-fixtures.js";

const GOLDEN = join(TESTDATA, "golden");

function golden(name: string, actual: unknown): void {
  const file = join(GOLDEN, name);
  const text = `${JSON.stringify(actual, null, 2)}\n`;
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(file)) {
    if (process.env.UPDATE_GOLDEN !== "1" && process.env.CI) throw new Error(`golden file ${name} is missing; run with UPDATE_GOLDEN=1`);
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, text);
  }
  expect(JSON.parse(text)).toEqual(JSON.parse(readFileSync(file, "utf8")));
}

describe("golden xDS for bookinfo", () => {
  const snapshot = loadSnapshot("bookinfo");
  const push = createPushContextBuilder({ domain: "cluster.local" }).build(snapshot);

  it("loads the bookinfo inputs with no config errors", () => {
    expect(snapshot.errors).toEqual([]);
    expect(push.errors).toEqual([]);
  });

  it("productpage sidecar", () => {
    const proxy = proxyOf({ ip: "10.244.1.40", pod: "productpage-v1-5c8b9d6f7-x1q2z", namespace: "default", labels: { app: "productpage", version: "v1" } });
    golden("productpage-sidecar.json", fullXdsJson(push, proxy));
    expect(validationIssues(allResources(push, proxy))).toEqual([]);
  });

  it("ingress gateway with bookinfo-gateway.yaml", () => {
    const proxy = proxyOf({ type: "router", ip: "10.244.2.5", pod: "istio-ingressgateway-7d9c8b6f5-abcde", namespace: "istio-system", labels: { app: "istio-ingressgateway", istio: "ingressgateway" } });
    golden("ingressgateway.json", fullXdsJson(push, proxy));
    expect(validationIssues(allResources(push, proxy))).toEqual([]);
  });
});

describe("proxyless gRPC client of bookinfo", () => {
  it("gets api_listeners, route configs, EDS clusters and endpoints that pass validation", () => {
    const push = createPushContextBuilder().build(loadSnapshot("bookinfo"));
    const proxy = proxyOf({ ip: "10.244.3.3", pod: "client-1", namespace: "default", generator: "grpc" });
    const all = allResources(push, proxy);
    expect(all.map((r) => r.name)).toContain("reviews.default.svc.cluster.local:9080");
    expect(validationIssues(all)).toEqual([]);
  });
});
