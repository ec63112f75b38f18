// A Cluster field the proxy does not act on is reported, once per field, with
// what happens instead; the fields Istio's discovery sets on ordinary
// clusters (and this repo's does) are acted on and say nothing.
import { fromEnvoyJson } from "@weft/xds-api";
import { ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { describe, expect, it } from "vitest";
import { compileCluster } from "./compile-cluster.js";
import { loadRev0Bootstrap } from "../test-util/testdata.js";

const compile = (json: Record<string, unknown>) => {
  const reports: Array<[string, string | undefined]> = [];
  compileCluster(fromEnvoyJson(ClusterSchema, { name: "c", type: "STATIC", connect_timeout: "1s", ...json } as never), (f, d) => void reports.push([f, d]));
  return reports;
};

describe("compileCluster(): fields it does not act on", () => {
  it("names each one set, with what happens instead", () => {
    const reports = compile({
      respect_dns_ttl: true,
      round_robin_lb_config: { slow_start_config: { slow_start_window: "30s" } },
      preconnect_policy: { per_upstream_preconnect_ratio: 1.5 },
      alt_stat_name: "other",
      lb_subset_config: { subset_selectors: [{ keys: ["version"] }] },
      upstream_connection_options: { tcp_keepalive: { keepalive_time: 300 }, set_local_interface_name_on_upstream_connections: true },
    });
    expect(reports.map(([f]) => f).sort()).toEqual(["cluster.alt_stat_name", "cluster.lb_subset_config", "cluster.preconnect_policy", "cluster.respect_dns_ttl", "cluster.round_robin_lb_config", "cluster.upstream_connection_options"]);
    expect(Object.fromEntries(reports)["cluster.respect_dns_ttl"]).toMatch(/dns_refresh_rate/);
    expect(Object.fromEntries(reports)["cluster.round_robin_lb_config"]).toMatch(/slow start/);
    expect(Object.fromEntries(reports)["cluster.upstream_connection_options"]).toMatch(/only tcp_keepalive/);
  });

  it("says nothing about what it acts on: an Istio-style outbound cluster; one field of pilot-agent's static clusters", () => {
    expect(
      compile({
        type: "EDS",
        eds_cluster_config: { eds_config: { ads: {}, resource_api_version: "V3" }, service_name: "outbound|9080||reviews.default.svc.cluster.local" },
        lb_policy: "LEAST_REQUEST",
        circuit_breakers: { thresholds: [{ max_connections: 4294967295, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295 }] },
        common_lb_config: { locality_weighted_lb_config: {} },
        metadata: { filter_metadata: { istio: { services: [{ host: "reviews.default.svc.cluster.local", name: "reviews", namespace: "default" }] } } },
        outlier_detection: { consecutive_5xx: 5 },
        typed_extension_protocol_options: {
          "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            common_http_protocol_options: { idle_timeout: "3600s" },
            use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
          },
        },
      }).filter(([f]) => !f.startsWith("cluster.typed_extension_protocol_options")),
    ).toEqual([]);
    // pilot-agent's own static clusters set one field weft does not act on: respect_dns_ttl on the tracer's cluster.
    const reports: string[] = [];
    for (const c of loadRev0Bootstrap().staticResources!.clusters) compileCluster(c, (f) => void reports.push(f));
    expect(reports).toEqual(["cluster.respect_dns_ttl"]);
  });
});
