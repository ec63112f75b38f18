// The ops endpoints over real HTTP: /ready, syncz, configz, registryz,
// config_dump, and /metrics checked by Prometheus' own promtool.
import { execFileSync } from "node:child_process";
import { TypeUrl } from "@weft/xds-api";
import { afterEach, describe, expect, it } from "vitest";
import { createAdsTestClient, grpcTransport, testNode, type AdsTestClient } from "../test-util/ads-test-client.js";
import { clusterNameOf, endpointChange, fqdnOf, type FakeService } from "../test-util/fake-mesh.js";
import { startFakeApp, type FakeApp } from "../test-util/fake-app.js";

const svc: FakeService = { name: "a", namespace: "ns1", port: 80, endpoints: ["10.0.0.1"] };
const ID = "sidecar~10.1.0.1~p1.ns1~ns1.svc.cluster.local";
let fake: FakeApp;
let client: AdsTestClient | undefined;

afterEach(async () => {
  client?.close();
  await fake?.close();
});

async function get(path: string, addr = fake.addrs.http!): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${addr}${path}`);
  return { status: res.status, body: await res.text() };
}

async function connected(): Promise<void> {
  fake = await startFakeApp([svc]);
  client = createAdsTestClient({ transport: grpcTransport(fake.addrs.grpc), node: testNode(ID) });
  client.subscribe(TypeUrl.Cluster, "*");
  await client.next((r) => r.typeUrl === TypeUrl.Cluster);
  client.subscribe(TypeUrl.ClusterLoadAssignment, [clusterNameOf(svc)]);
  await client.next((r) => r.typeUrl === TypeUrl.ClusterLoadAssignment);
  await new Promise((r) => setTimeout(r, 50)); // let the ACK arrive
}

describe("debug endpoints", () => {
  it("report readiness, sync status, config and registry", async () => {
    await connected();
    expect((await get("/ready")).status).toBe(200);
    const syncz = JSON.parse((await get("/debug/syncz")).body);
    expect(syncz).toHaveLength(1);
    expect(syncz[0].proxy).toBe(ID);
    expect(syncz[0].cluster_sent).toBe(syncz[0].cluster_acked);
    expect(syncz[0].types.EDS).toMatchObject({ synced: true, resources_sent: 1, subscribed: 1 });
    expect(JSON.parse((await get("/debug/registryz")).body).services[0].hostname).toBe("a.ns1.svc.cluster.local");
    expect(JSON.parse((await get("/debug/configz")).body)).toHaveProperty("errors");
  });

  it("dump what a proxy was sent as an envoy.admin.v3.ConfigDump", async () => {
    await connected();
    const dump = JSON.parse((await get(`/debug/config_dump?proxyID=${encodeURIComponent("p1.ns1")}`)).body);
    const types = dump.configs.map((c: { "@type": string }) => c["@type"]);
    expect(types).toEqual([
      "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
      "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump",
      "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
      "type.googleapis.com/envoy.admin.v3.RoutesConfigDump",
      "type.googleapis.com/envoy.admin.v3.SecretsConfigDump",
    ]);
    expect(dump.configs[0].dynamic_active_clusters[0].cluster.name).toBe(clusterNameOf(svc));
    expect(dump.configs[1].dynamic_endpoint_configs[0].endpoint_config.cluster_name).toBe(clusterNameOf(svc));
    expect((await get("/debug/config_dump?proxyID=nobody")).status).toBe(404);
    expect(JSON.parse((await get("/debug/config_dump")).body).error).toMatch(/missing query parameter proxyID/);
  });

  it("serve Istio's metric names in a format promtool accepts", async () => {
    await connected();
    fake.setServices([{ ...svc, endpoints: ["10.0.0.2"] }], endpointChange(fqdnOf(svc)));
    await client!.next((r) => r.typeUrl === TypeUrl.ClusterLoadAssignment);
    const { status, body } = await get("/metrics", fake.addrs.monitoring);
    expect(status).toBe(200);
    expect(body).toMatch(/^pilot_xds\{version="0.1.0"\} 1$/m);
    expect(body).toMatch(/^pilot_xds_pushes\{type="cds"\} 1$/m);
    expect(body).toMatch(/^pilot_xds_pushes\{type="eds"\} 2$/m);
    expect(body).toMatch(/^pilot_proxy_convergence_time_bucket\{le="\+Inf"\} 1$/m);
    expect(body).toMatch(/^pilot_xds_push_time_count\{type="cds"\} 1$/m);
    expect(body).toMatch(/^process_resident_memory_bytes \d+$/m);
    // promtool exits non-zero on malformed exposition text; lint warnings (e.g. naming) are reported but allowed.
    let out = "";
    try {
      out = execFileSync("promtool", ["check", "metrics"], { input: body, encoding: "utf8" });
    } catch (error) {
      const e = error as { status: number; stdout: string; stderr: string };
      expect(e.stderr + e.stdout).not.toMatch(/error while linting|text format parsing error/);
    }
    expect(out).not.toMatch(/parsing error/);
  });
});
