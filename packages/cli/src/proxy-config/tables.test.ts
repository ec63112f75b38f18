import { describe, expect, it } from "vitest";
import { readTestdata } from "../test-util/testdata.js";
import { CLUSTER_HEADER, clusterRows, parseClusterName } from "./cluster-table.js";
import { parseConfigDump } from "./config-dump.js";
import { endpointRowsFromAdmin, endpointRowsFromAssignments } from "./endpoint-table.js";
import { listenerRows } from "./listener-table.js";
import { clustersOf, endpointsOf, listenersOf, routesOf, secretsOf } from "./resources.js";
import { routeRows, summarizeDomains } from "./route-table.js";
import { secretRows } from "./secret-table.js";

const authz = parseConfigDump(readTestdata("istio", "sidecar-configdump-authz.yaml")).sections;
const http = parseConfigDump(readTestdata("istio", "http-config-dump.json")).sections;
const full = parseConfigDump(readTestdata("istio", "config-dump-full.json")).sections;

describe("proxy-config tables over real Istio config dumps", () => {
  it("prints clusters as istioctl does, with the DestinationRule from Istio's metadata", () => {
    expect(CLUSTER_HEADER).toEqual(["SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE", "DESTINATION RULE"]);
    expect(clusterRows(clustersOf(http))).toContainEqual(["productpage.default.svc.cluster.local", "9080", "v1", "outbound", "EDS", "productpage.default"]);
    expect(clusterRows(clustersOf(full))).toContainEqual(["agent", "-", "-", "-", "STATIC", ""]);
  });

  it("filters clusters by fqdn, port, subset and direction", () => {
    const rows = clusterRows(clustersOf(http), { direction: "outbound", port: "9080" });
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r[1] === "9080" && r[3] === "outbound")).toBe(true);
  });

  it("parses Istio cluster names", () => {
    expect(parseClusterName("outbound|9080|v2|reviews.default.svc.cluster.local")).toEqual({ direction: "outbound", port: "9080", subset: "v2", fqdn: "reviews.default.svc.cluster.local" });
    expect(parseClusterName("inbound|80||")).toEqual({ direction: "inbound", port: "80", subset: "-", fqdn: "-" });
    expect(parseClusterName("BlackHoleCluster")).toEqual({ direction: "-", port: "-", subset: "-", fqdn: "BlackHoleCluster" });
  });

  it("prints a row per filter chain with what it matches and where it goes", () => {
    const rows = listenerRows(listenersOf(authz));
    expect(rows).toContainEqual(["0.0.0.0", "9080", "Trans: raw_buffer; App: http/1.1,h2c", "Route: 9080"]);
    expect(rows).toContainEqual(["0.0.0.0", "9080", "ALL", "PassthroughCluster"]);
    expect(rows).toContainEqual(["10.96.0.10", "53", "ALL", "Cluster: outbound|53||kube-dns.kube-system.svc.cluster.local"]);
    expect(rows).toContainEqual(["0.0.0.0", "15090", "ALL", "Inline Route: /stats/prometheus*"]);
    expect(listenerRows(listenersOf(authz), { port: "15001" }).every((r) => r[1] === "15001")).toBe(true);
  });

  it("prints routes with istioctl's domain summary", () => {
    expect(routeRows(routesOf(full))).toContainEqual(["inbound-vip|8000|http|httpbin.default.svc.cluster.local", "inbound|http|8000", "*", "/*", ""]);
    expect(summarizeDomains(["reviews.default.svc.cluster.local", "reviews.default.svc.cluster.local:9080", "reviews", "reviews:9080", "reviews.default.svc", "reviews.default", "10.0.0.1", "10.0.0.1:9080"])).toBe("reviews, reviews.default + 2 more...");
  });

  it("prints endpoints from a config dump and from the live /clusters view", () => {
    expect(endpointRowsFromAssignments(endpointsOf(full))).toContainEqual(["127.0.0.1:15000", "HEALTHY", "OK", "prometheus_stats"]);
    const live = { cluster_statuses: [{ name: "outbound|9080||reviews.default.svc.cluster.local", host_statuses: [{ address: { socket_address: { address: "10.1.0.7", port_value: 9080 } }, health_status: { eds_health_status: "HEALTHY", failed_outlier_check: true } }] }] };
    expect(endpointRowsFromAdmin(live)).toEqual([["10.1.0.7:9080", "HEALTHY", "FAILED", "outbound|9080||reviews.default.svc.cluster.local"]]);
  });

  it("reads certificates out of SDS secrets", () => {
    const rows = secretRows(secretsOf(full), new Date("2023-05-15T12:00:00Z"));
    expect(rows).toContainEqual(["default", "Cert Chain", "ACTIVE", "true", "6fbee254c22900615cb1f74e3d2f1713", "2023-05-16T01:32:52Z", "2023-05-15T01:30:52Z"]);
    expect(rows.find((r) => r[0] === "ROOTCA")?.[1]).toBe("CA");
    expect(secretRows(secretsOf(full), new Date("2024-01-01T00:00:00Z"))[0][3]).toBe("false");
  });
});
