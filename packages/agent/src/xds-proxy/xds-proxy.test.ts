import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { TypeUrl, unpackAny } from "@weft/xds-api";
import { ClusterSchema, type Cluster } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb";
import { FakeDiscovery } from "../test-util/fake-discovery.js";
import { openAdsClient, until } from "../test-util/grpc-ads-client.js";
import { createBackoff } from "./backoff.js";
import { createPlaintextDialer } from "./upstream.js";
import { createXdsProxy, type XdsProxy } from "./xds-proxy.js";

const log = pino({ level: process.env.TEST_LOG ?? "silent" });
const node = { id: "sidecar~10.0.0.1~app-1.default~default.svc.cluster.local", cluster: "app.default" };

describe("createXdsProxy()", () => {
  let discovery: FakeDiscovery;
  let proxy: XdsProxy;
  let socket: string;

  beforeEach(async () => {
    discovery = new FakeDiscovery();
    discovery.set(TypeUrl.Cluster, "v1", ClusterSchema, [create(ClusterSchema, { name: "outbound|80||httpbin.default.svc.cluster.local" })]);
    discovery.set(TypeUrl.Listener, "v1", ListenerSchema, [create(ListenerSchema, { name: "virtualOutbound" })]);
    await discovery.start();
    socket = join(mkdtempSync(join(tmpdir(), "weft-xds-")), "XDS");
    proxy = await createXdsProxy({ socketPath: socket, dialer: createPlaintextDialer(discovery.address), log, backoff: () => createBackoff(50, 200) });
  });

  afterEach(async () => {
    await proxy.close();
    await discovery.stop();
  });

  it("relays a SotW subscription with the node and reports the first config after CDS and LDS ACKs", async () => {
    const c = openAdsClient(socket);
    c.send({ node, typeUrl: TypeUrl.Cluster });
    await until(() => c.responses.length === 1, "CDS response");
    expect(discovery.sotwRequests[0].node?.id).toBe(node.id);
    const cluster: Cluster = unpackAny(c.responses[0].resources[0], ClusterSchema);
    expect(cluster.name).toBe("outbound|80||httpbin.default.svc.cluster.local");
    expect(proxy.status().hasFirstConfig).toBe(false);
    c.send({ typeUrl: TypeUrl.Cluster, versionInfo: "v1", responseNonce: c.responses[0].nonce });
    c.send({ typeUrl: TypeUrl.Listener });
    await until(() => c.responses.length === 2, "LDS response");
    expect(proxy.status().hasFirstConfig).toBe(false);
    c.send({ typeUrl: TypeUrl.Listener, versionInfo: "v1", responseNonce: c.responses[1].nonce });
    await until(() => proxy.status().hasFirstConfig, "first config");
    expect(proxy.status().upstreamConnected).toBe(true);
    c.close();

    // A restarted proxy process must earn readiness again with its own ACKs.
    proxy.resetFirstConfig();
    expect(proxy.status().hasFirstConfig).toBe(false);
    const again = openAdsClient(socket);
    again.send({ node, typeUrl: TypeUrl.Cluster });
    await until(() => again.responses.length === 1, "CDS again");
    again.send({ typeUrl: TypeUrl.Cluster, versionInfo: "v1", responseNonce: again.responses[0].nonce });
    again.send({ typeUrl: TypeUrl.Listener });
    await until(() => again.responses.length === 2, "LDS again");
    again.send({ typeUrl: TypeUrl.Listener, versionInfo: "v1", responseNonce: again.responses[1].nonce });
    await until(() => proxy.status().hasFirstConfig, "first config of the new process");
    again.close();
  });

  it("keeps the proxy's stream open while discovery is away and resyncs after it returns", async () => {
    const c = openAdsClient(socket);
    c.send({ node, typeUrl: TypeUrl.Cluster });
    await until(() => c.responses.length === 1, "CDS response");
    c.send({ typeUrl: TypeUrl.Cluster, versionInfo: "v1", responseNonce: c.responses[0].nonce });
    await until(() => discovery.sotwRequests.length === 2, "ACK upstream");

    await discovery.stop();
    await until(() => !proxy.status().upstreamConnected, "upstream down");
    expect(c.ended).toBe(false);
    expect(c.errors).toEqual([]);

    discovery.set(TypeUrl.Cluster, "v2", ClusterSchema, [create(ClusterSchema, { name: "outbound|80||httpbin.default.svc.cluster.local" }), create(ClusterSchema, { name: "BlackHoleCluster" })]);
    const before = discovery.sotwRequests.length;
    await discovery.start();
    await until(() => c.responses.length === 2, "resync after reconnect");
    const replay = discovery.sotwRequests[before];
    expect(replay.node?.id).toBe(node.id);
    expect(replay.typeUrl).toBe(TypeUrl.Cluster);
    expect(replay.versionInfo).toBe("v1");
    expect(replay.responseNonce).toBe("");
    expect(c.responses[1].versionInfo).toBe("v2");
    expect(c.responses[1].resources).toHaveLength(2);
    c.close();
  });

  it("re-subscribes a delta stream with initial_resource_versions after discovery returns", async () => {
    const c = openAdsClient(socket);
    const d = c.openDelta();
    d.send({ node, typeUrl: TypeUrl.Cluster });
    await until(() => d.responses.length === 1, "delta CDS");
    d.send({ typeUrl: TypeUrl.Cluster, responseNonce: d.responses[0].nonce });
    await discovery.stop();
    discovery.set(TypeUrl.Cluster, "v2", ClusterSchema, [create(ClusterSchema, { name: "outbound|80||httpbin.default.svc.cluster.local" })]);
    const before = discovery.deltaRequests.length;
    await discovery.start();
    await until(() => d.responses.length === 2, "delta resync");
    const replay = discovery.deltaRequests[before];
    expect(replay.node?.id).toBe(node.id);
    expect(replay.initialResourceVersions).toEqual({ "outbound|80||httpbin.default.svc.cluster.local": "v1" });
    expect(d.responses[1].resources.map((r) => r.version)).toEqual(["v2"]);
    c.close();
  });

  it("records a NACK with its message", async () => {
    const c = openAdsClient(socket);
    c.send({ node, typeUrl: TypeUrl.Cluster });
    await until(() => c.responses.length === 1, "CDS response");
    c.send({ typeUrl: TypeUrl.Cluster, responseNonce: c.responses[0].nonce, errorDetail: { code: 3, message: "bad cluster" } });
    await until(() => proxy.status().nacks === 1, "NACK");
    expect(proxy.status().lastNack).toEqual({ typeUrl: TypeUrl.Cluster, message: "bad cluster" });
    c.close();
  });
});
