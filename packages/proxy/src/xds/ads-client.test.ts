import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { fromEnvoyJson, TypeUrl } from "@weft/xds-api";
import { NodeSchema } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb";
import { ClusterSchema, type Cluster } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb";
import { ClusterLoadAssignmentSchema } from "@weft/xds-api/gen/envoy/config/endpoint/v3/endpoint_pb";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb";
import { RouteConfigurationSchema } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb";
import { afterEach, describe, expect, it } from "vitest";
import { createStatsStore } from "../stats/stats-store.js";
import { FakeRuntime } from "../test-util/fake-runtime.js";
import { quietLogger } from "../test-util/quiet-logger.js";
import { TestAdsServer } from "../test-util/test-ads-server.js";
import { createAdsClient, type AdsClient } from "./ads-client.js";
import { poller } from "../test-util/until.js";

const dir = mkdtempSync(join(tmpdir(), "weft-ads-"));
const node = create(NodeSchema, { id: "sidecar~127.0.0.1~test.default~default.svc.cluster.local", cluster: "test.default" });

const cluster = (name: string, connectTimeout = "1s"): Cluster =>
  fromEnvoyJson(ClusterSchema, { name, type: "EDS", connect_timeout: connectTimeout, eds_cluster_config: { eds_config: { ads: {} } } });
const endpoints = (name: string, port: number) =>
  fromEnvoyJson(ClusterLoadAssignmentSchema, {
    cluster_name: name,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } } }] }],
  });
const listener = (name: string, route: string) =>
  fromEnvoyJson(ListenerSchema, {
    name,
    address: { socket_address: { address: "127.0.0.1", port_value: 18080 } },
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
              stat_prefix: "in",
              rds: { route_config_name: route, config_source: { ads: {} } },
              http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
            },
          },
        ],
      },
    ],
  } as never);
const route = (name: string, clusterName: string) =>
  fromEnvoyJson(RouteConfigurationSchema, {
    name,
    virtual_hosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: clusterName } }] }],
  });

function serveV1(server: TestAdsServer, version = "v1") {
  server.set(TypeUrl.Cluster, version, ClusterSchema, [cluster("c1")], (c) => c.name);
  server.set(TypeUrl.ClusterLoadAssignment, version, ClusterLoadAssignmentSchema, [endpoints("c1", 9000)], (e) => e.clusterName);
  server.set(TypeUrl.Listener, version, ListenerSchema, [listener("l1", "r1")], (l) => l.name);
  server.set(TypeUrl.RouteConfiguration, version, RouteConfigurationSchema, [route("r1", "c1")], (r) => r.name);
}

const until = poller({ timeoutMs: 8000, stepMs: 20 });

let client: AdsClient | undefined;
let server: TestAdsServer | undefined;
afterEach(async () => {
  await client?.close();
  await server?.stop();
  client = undefined;
  server = undefined;
});

function startClient(runtime: FakeRuntime, address: { kind: "unix"; path: string } | { kind: "tcp"; host: string; port: number }, delta = false) {
  const stats = createStatsStore();
  client = createAdsClient({ node, target: { address, delta, via: "test" }, runtime, stats, logger: quietLogger(), random: () => 0 });
  client.start();
  return stats;
}

describe.each([false, true])("createAdsClient() (delta: %s)", (delta) => {
  it("applies CDS → EDS → LDS → RDS over a Unix socket and ACKs everything", async () => {
    server = new TestAdsServer();
    const path = join(dir, `xds-${delta}.sock`);
    await server.listen({ path });
    serveV1(server);
    const runtime = new FakeRuntime();
    const stats = startClient(runtime, { kind: "unix", path }, delta);
    await until(() => runtime.applied.length >= 4, "four applies");
    // LDS arrived right after CDS but was held until the new cluster's EDS.
    expect(runtime.applied.slice(0, 4)).toEqual(["clusters@v1", "endpoints@v1", "listeners@v1", "routes@v1"]);
    await until(() => server!.events.filter((e) => e.kind === "ack").length >= 4, "four ACKs");
    expect(server.events.filter((e) => e.kind === "nack")).toEqual([]);
    expect(stats.counter("cluster_manager.cds.update_success").value()).toBe(1);
    expect(stats.gauge("control_plane.connected_state").value()).toBe(1);
    const first = delta ? server.deltaRequests[0] : server.requests[0];
    expect(first?.node?.id).toBe(node.id);
  });
});

describe("createAdsClient() over TCP (SotW)", () => {
  it("NACKs a bad cluster with error_detail naming the resource and field, and keeps the old config", async () => {
    server = new TestAdsServer();
    const port = (await server.listen({ port: 0 })) as number;
    serveV1(server);
    const runtime = new FakeRuntime();
    startClient(runtime, { kind: "tcp", host: "127.0.0.1", port });
    await until(() => runtime.applied.length >= 4, "initial config");

    server.set(TypeUrl.Cluster, "v2", ClusterSchema, [cluster("c1"), cluster("bad-cluster", "-1s")], (c) => c.name);
    await until(() => server!.requests.some((r) => r.errorDetail), "a NACK");
    const nack = server.requests.find((r) => r.errorDetail)!;
    expect(nack.typeUrl).toBe(TypeUrl.Cluster);
    expect(nack.versionInfo).toBe("v1");
    expect(nack.errorDetail?.code).toBe(3);
    expect(nack.errorDetail?.message).toBe("bad-cluster: connect_timeout: duration must be non-negative, got -1s");
    expect([...runtime.state.clusters.keys()]).toEqual(["c1"]);
    expect(client!.status().find((s) => s.typeUrl === TypeUrl.Cluster)?.acceptedVersion).toBe("v1");
  });

  it("NACKs what the runtime's compiler rejects with its resource and field", async () => {
    server = new TestAdsServer();
    const port = (await server.listen({ port: 0 })) as number;
    serveV1(server);
    const runtime = new FakeRuntime();
    const stats = startClient(runtime, { kind: "tcp", host: "127.0.0.1", port });
    await until(() => runtime.applied.length >= 4, "initial config");
    server.set(TypeUrl.Cluster, "v3", ClusterSchema, [cluster("c1"), cluster("reject-me")], (c) => c.name);
    await until(() => server!.requests.some((r) => r.errorDetail), "a NACK");
    expect(server.requests.find((r) => r.errorDetail)?.errorDetail?.message).toBe("reject-me: lb_policy: not supported by this runtime");
    expect(stats.counter("cluster_manager.cds.update_rejected").value()).toBe(1);
    expect([...runtime.state.clusters.keys()]).toEqual(["c1"]);
  });

  it("keeps serving while the server is gone and resumes with the last accepted versions", async () => {
    server = new TestAdsServer();
    const port = (await server.listen({ port: 0 })) as number;
    serveV1(server);
    const runtime = new FakeRuntime();
    const stats = startClient(runtime, { kind: "tcp", host: "127.0.0.1", port });
    await until(() => runtime.applied.length >= 4, "initial config");
    await until(() => server!.events.filter((e) => e.kind === "ack").length >= 4, "ACKs");

    await server.stop();
    await until(() => !client!.connected(), "the client noticing the outage");
    expect(stats.gauge("control_plane.connected_state").value()).toBe(0);
    // Nothing was removed: the last good config keeps serving.
    expect([...runtime.state.listeners.keys()]).toEqual(["l1"]);
    expect([...runtime.state.clusters.keys()]).toEqual(["c1"]);

    const again = new TestAdsServer();
    serveV1(again);
    server = again;
    await again.listen({ port });
    await until(() => again.requests.length >= 4, "resubscription after reconnect", 15_000);
    const byType = new Map(again.requests.slice(0, 4).map((r) => [r.typeUrl, r]));
    for (const t of [TypeUrl.Cluster, TypeUrl.Listener, TypeUrl.ClusterLoadAssignment, TypeUrl.RouteConfiguration]) {
      expect(byType.get(t)?.versionInfo, t).toBe("v1");
    }
    expect(byType.get(TypeUrl.ClusterLoadAssignment)?.resourceNames).toEqual(["c1"]);
    expect(byType.get(TypeUrl.RouteConfiguration)?.resourceNames).toEqual(["r1"]);
    await until(() => client!.connected() || again.requests.length > 4, "reconnected");
  }, 30_000);
});

describe("createAdsClient() over TCP (delta)", () => {
  it("resumes after an outage with initial_resource_versions", async () => {
    server = new TestAdsServer();
    const port = (await server.listen({ port: 0 })) as number;
    serveV1(server);
    const runtime = new FakeRuntime();
    startClient(runtime, { kind: "tcp", host: "127.0.0.1", port }, true);
    await until(() => runtime.applied.length >= 4, "initial config");
    await until(() => server!.events.filter((e) => e.kind === "ack").length >= 4, "ACKs");
    await server.stop();
    await until(() => !client!.connected(), "the outage");

    const again = new TestAdsServer();
    serveV1(again);
    server = again;
    await again.listen({ port });
    await until(() => again.deltaRequests.length >= 4, "delta resubscription", 15_000);
    const eds = again.deltaRequests.find((r) => r.typeUrl === TypeUrl.ClusterLoadAssignment);
    expect(eds?.resourceNamesSubscribe).toEqual(["c1"]);
    expect(eds?.initialResourceVersions).toEqual({ c1: "v1" });
    const cds = again.deltaRequests.find((r) => r.typeUrl === TypeUrl.Cluster);
    expect(cds?.initialResourceVersions).toEqual({ c1: "v1" });
    expect([...runtime.state.clusters.keys()]).toEqual(["c1"]);
  }, 30_000);
});
