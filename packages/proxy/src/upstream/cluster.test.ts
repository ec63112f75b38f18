import { pino } from "pino";
import { fromEnvoyJson } from "@weft/xds-api";
import { ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "@weft/xds-api/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { describe, expect, it } from "vitest";
import { compileCluster } from "../runtime/compile-cluster.js";
import { compileAssignment } from "../runtime/compile-endpoints.js";
import { createFakeStats } from "../test-util/fake-stats.js";
import { createCluster } from "./cluster.js";

const make = (json: Record<string, unknown>) => {
  const stats = createFakeStats();
  const cluster = createCluster(compileCluster(fromEnvoyJson(ClusterSchema, json as never), () => {}), { stats, logger: pino({ level: "silent" }) });
  return { cluster, stats };
};

describe("createCluster()", () => {
  it.each(["STRICT_DNS", "LOGICAL_DNS"])("%s resolves localhost and exposes membership stats", async (type) => {
    const { cluster, stats } = make({
      name: "dns",
      type,
      dns_lookup_family: "V4_ONLY",
      dns_refresh_rate: "60s",
      load_assignment: { cluster_name: "dns", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "localhost", port_value: 8080 } } } }] }] },
    });
    await cluster.ready;
    const host = cluster.pickHost(undefined, undefined)!;
    expect(host.key).toBe("127.0.0.1:8080");
    expect(host.hostname).toBe("localhost");
    expect(stats.get("cluster.dns.membership_total")).toBe(1);
    await cluster.close();
  });

  it("keeps an EDS cluster warming until the first assignment, or until initial_fetch_timeout", async () => {
    const { cluster } = make({ name: "eds", type: "EDS", eds_cluster_config: { eds_config: { ads: {}, initial_fetch_timeout: "0.1s" } } });
    expect(cluster.warm).toBe(false);
    await cluster.ready;
    expect(cluster.warm).toBe(true);
    expect(cluster.pickHost(undefined, undefined)).toBeUndefined();
    await cluster.close();
  });

  it("ORIGINAL_DST creates hosts from the original destination", async () => {
    const { cluster, stats } = make({ name: "pt", type: "ORIGINAL_DST", lb_policy: "CLUSTER_PROVIDED" });
    expect(cluster.pickHost(undefined, "10.1.2.3:9080")!.key).toBe("10.1.2.3:9080");
    expect(cluster.pickHost(undefined, "[fd00::1]:80")!.ip).toBe("fd00::1");
    expect(stats.get("cluster.pt.membership_total")).toBe(2);
    expect(cluster.pickHost(undefined, undefined)).toBeUndefined();
    await cluster.close();
  });

  it("treats UNHEALTHY/DRAINING endpoints as unhealthy and reports /failed_eds_health", async () => {
    const { cluster, stats } = make({ name: "e", type: "EDS" });
    const cla = fromEnvoyJson(ClusterLoadAssignmentSchema, {
      cluster_name: "e",
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: "10.0.0.1", port_value: 80 } } }, health_status: "HEALTHY" },
            { endpoint: { address: { socket_address: { address: "10.0.0.2", port_value: 80 } } }, health_status: "DRAINING" },
          ],
        },
      ],
    } as never);
    cluster.setAssignment(compileAssignment(cla, "e", "", false));
    expect(stats.get("cluster.e.membership_healthy")).toBe(1);
    expect(stats.get("cluster.e.membership_total")).toBe(2);
    const flags = cluster.prioritySet().levels[0].hosts.map((h) => h.healthFlags);
    expect(flags).toEqual([[], ["/failed_eds_health"]]);
    for (let i = 0; i < 20; i++) expect(cluster.pickHost(undefined, undefined)!.ip).toBe("10.0.0.1");
    await cluster.close();
  });

  it("keeps one pool per host and protocol, and never hands out the pool of a host that was removed", async () => {
    const { cluster } = make({ name: "p", type: "EDS" });
    const cla = (ip: string) =>
      compileAssignment(fromEnvoyJson(ClusterLoadAssignmentSchema, { cluster_name: "p", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: ip, port_value: 80 } } } }] }] } as never), "p", "", false);
    cluster.setAssignment(cla("10.0.0.1"));
    const a = cluster.pickHost(undefined, undefined)!;
    const first = cluster.pool(a, "http1");
    expect(cluster.pool(a, "http1")).toBe(first);
    expect(cluster.pool(a, "http2")).not.toBe(first);
    cluster.setAssignment(cla("10.0.0.2"));
    cluster.setAssignment(cla("10.0.0.1"));
    // The first pool was closed with its host; a request still holding the old Host gets a live one.
    expect(cluster.pool(a, "http1")).not.toBe(first);
    const again = cluster.pickHost(undefined, undefined)!;
    expect(cluster.pool(again, "http1")).toBe(cluster.pool(a, "http1"));
    await cluster.close();
  });
});
