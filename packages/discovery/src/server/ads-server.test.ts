import { TypeUrl } from "@weft/xds-api";
import { afterEach, describe, expect, it } from "vitest";
import { createAdsTestClient, grpcTransport, testNode, type AdsTestClient } from "../test-util/ads-test-client.js";
import { clusterNameOf, endpointChange, fqdnOf, fullChange, type FakeService } from "../test-util/fake-mesh.js";
import { startFakeApp, type FakeApp } from "../test-util/fake-app.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const LDS = TypeUrl.Listener;
const RDS = TypeUrl.RouteConfiguration;

const a: FakeService = { name: "a", namespace: "ns1", port: 80, endpoints: ["10.0.0.1", "10.0.0.2"] };
const b: FakeService = { name: "b", namespace: "ns1", port: 9080, endpoints: ["10.0.1.1"] };

let fake: FakeApp;
const clients: AdsTestClient[] = [];

function connect(id: string, mode: "sotw" | "delta" = "sotw"): AdsTestClient {
  const c = createAdsTestClient({ transport: grpcTransport(fake.addrs.grpc), node: testNode(id), mode });
  clients.push(c);
  return c;
}

async function subscribeAll(c: AdsTestClient, eds: string[] = [clusterNameOf(a), clusterNameOf(b)]): Promise<void> {
  c.subscribe(CDS, "*");
  await c.next((r) => r.typeUrl === CDS);
  c.subscribe(EDS, eds);
  await c.next((r) => r.typeUrl === EDS);
  c.subscribe(LDS, "*");
  await c.next((r) => r.typeUrl === LDS);
  c.subscribe(RDS, ["80", "9080"]);
  await c.next((r) => r.typeUrl === RDS);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await fake?.close();
});

describe("ADS server (SotW)", () => {
  it("serves CDS, EDS, LDS and RDS to a subscribing proxy", async () => {
    fake = await startFakeApp([a, b]);
    const c = connect("sidecar~10.1.0.1~p1.ns1~ns1.svc.cluster.local");
    c.subscribe(CDS, "*");
    expect((await c.next((r) => r.typeUrl === CDS)).names.sort()).toEqual([clusterNameOf(a), clusterNameOf(b)].sort());
    c.subscribe(EDS, [clusterNameOf(a)]);
    expect((await c.next((r) => r.typeUrl === EDS)).names).toEqual([clusterNameOf(a)]);
    c.subscribe(RDS, ["9080"]);
    expect((await c.next((r) => r.typeUrl === RDS)).names).toEqual(["9080"]);
  });

  it("pushes a full change in the order CDS, EDS, LDS, RDS", async () => {
    fake = await startFakeApp([a, b]);
    const c = connect("sidecar~10.1.0.1~p1.ns1~ns1.svc.cluster.local");
    await subscribeAll(c);
    const before = c.received.length;
    // New clusters (c, d), new endpoints for a, a new listener port (8080) and a new vhost in route "80".
    fake.setServices([{ ...a, endpoints: ["10.0.0.9"] }, b, { name: "c", namespace: "ns1", port: 8080, endpoints: [] }, { name: "d", namespace: "ns1", port: 80, endpoints: [] }], fullChange("Service"));
    await c.next((r) => r.typeUrl === RDS);
    await sleep(100);
    const order = c.received.slice(before).map((r) => r.typeUrl);
    expect(order).toEqual([CDS, EDS, LDS, RDS]);
  });

  it("pushes EDS-only changes only to proxies watching the changed cluster", async () => {
    fake = await startFakeApp([a, b]);
    const watchA = connect("sidecar~10.1.0.1~p1.ns1~ns1.svc.cluster.local");
    const watchB = connect("sidecar~10.1.0.2~p2.ns1~ns1.svc.cluster.local");
    await subscribeAll(watchA, [clusterNameOf(a)]);
    await subscribeAll(watchB, [clusterNameOf(b)]);
    const [na, nb] = [watchA.received.length, watchB.received.length];
    const edsCallsBefore = fake.calls.get(EDS) ?? 0;
    fake.setServices([{ ...a, endpoints: ["10.0.0.1"] }, b], endpointChange(fqdnOf(a)));
    const got = await watchA.next((r) => r.typeUrl === EDS);
    expect(got.names).toEqual([clusterNameOf(a)]);
    await sleep(150);
    expect(watchA.received.slice(na).map((r) => r.typeUrl)).toEqual([EDS]);
    expect(watchB.received.length).toBe(nb);
    // Only the changed cluster was regenerated, once for both proxies (same config key).
    expect((fake.calls.get(EDS) ?? 0) - edsCallsBefore).toBe(1);
    expect(fake.app.metrics.pushes.get({ type: "cds" })).toBe(2);
  });

  it("sends only the changed assignments on an EDS-only push (incremental EDS)", async () => {
    fake = await startFakeApp([a, b]);
    const c = connect("sidecar~10.1.0.1~p1.ns1~ns1.svc.cluster.local");
    await subscribeAll(c);
    fake.setServices([a, { ...b, endpoints: ["10.0.1.9"] }], endpointChange(fqdnOf(b)));
    expect((await c.next((r) => r.typeUrl === EDS)).names).toEqual([clusterNameOf(b)]);
    // The config dump still shows everything the proxy holds.
    const dump = (await (await fetch(`http://${fake.addrs.http}/debug/config_dump?proxyID=p1.ns1`)).json()) as { configs: Array<{ dynamic_endpoint_configs: unknown[] }> };
    expect(dump.configs[1].dynamic_endpoint_configs).toHaveLength(2);
  });

  it("computes identical configs once per push", async () => {
    fake = await startFakeApp([a, b]);
    const cs = [1, 2, 3, 4].map((i) => connect(`sidecar~10.1.0.${i}~p${i}.ns1~ns1.svc.cluster.local`));
    for (const c of cs) await subscribeAll(c);
    const cdsBefore = fake.calls.get(CDS) ?? 0;
    fake.setServices([a, { ...b, port: 9081 }], fullChange("Service"));
    await Promise.all(cs.map((c) => c.next((r) => r.typeUrl === CDS)));
    expect((fake.calls.get(CDS) ?? 0) - cdsBefore).toBe(1);
  });

  it("logs and counts a NACK and does not re-push the rejected config", async () => {
    fake = await startFakeApp([a, b]);
    const c = connect("sidecar~10.1.0.1~p1.ns1~ns1.svc.cluster.local");
    await subscribeAll(c);
    c.rejectNext(CDS, "cluster outbound|81||a: bad thing");
    fake.setServices([{ ...a, port: 81 }, b], fullChange("Service"));
    await c.next((r) => r.typeUrl === CDS);
    await sleep(100);
    expect(fake.app.metrics.rejects.get({ type: "cds" })).toBe(1);
    const syncz = (await (await fetch(`http://${fake.addrs.http}/debug/syncz`)).json()) as Array<{ types: Record<string, { last_nack?: { error_detail: string } }> }>;
    expect(syncz[0].types.CDS.last_nack?.error_detail).toBe("cluster outbound|81||a: bad thing");
    // An unrelated EDS change: the rejected CDS must not be sent again.
    const n = c.received.length;
    fake.setServices([{ ...a, port: 81, endpoints: ["10.0.0.7"] }, b], endpointChange(fqdnOf(a)));
    await sleep(200);
    expect(c.received.slice(n).filter((r) => r.typeUrl === CDS)).toEqual([]);
  });

  it("answers a type it does not generate with an empty response", async () => {
    fake = await startFakeApp([a]);
    const c = connect("sidecar~10.1.0.1~p1.ns1~ns1.svc.cluster.local");
    c.subscribe(TypeUrl.Secret, ["default"]);
    expect((await c.next((r) => r.typeUrl === TypeUrl.Secret)).names).toEqual([]);
  });

  it("fails only the offending stream on an unknown type URL", async () => {
    fake = await startFakeApp([a]);
    const good = connect("sidecar~10.1.0.1~p1.ns1~ns1.svc.cluster.local");
    await subscribeAll(good);
    const bad = connect("sidecar~10.1.0.2~p2.ns1~ns1.svc.cluster.local");
    bad.subscribe("type.googleapis.com/no.such.Thing", "*");
    const err = await bad.ended;
    expect(err?.message).toMatch(/invalid_argument.*unknown type URL "type.googleapis.com\/no.such.Thing"/);
    fake.setServices([{ ...a, endpoints: ["10.0.0.5"] }], endpointChange(fqdnOf(a)));
    await good.next((r) => r.typeUrl === EDS);
  });

  it("rejects a node id that does not parse with INVALID_ARGUMENT saying why", async () => {
    fake = await startFakeApp([a]);
    const c = connect("not-a-node-id");
    c.subscribe(CDS, "*");
    const err = await c.ended;
    expect(err?.message).toMatch(/invalid_argument.*node id "not-a-node-id": expected 4 parts/);
  });

  it("closes streams at the max connection age", async () => {
    fake = await startFakeApp([a], { maxConnectionAgeMs: 150 });
    const c = connect("sidecar~10.1.0.1~p1.ns1~ns1.svc.cluster.local");
    c.subscribe(CDS, "*");
    await c.next();
    expect(await c.ended).toBeUndefined();
    expect(fake.app.server.connections()).toHaveLength(0);
  });
});

describe("ADS server (delta)", () => {
  it("sends only changed resources and removals", async () => {
    fake = await startFakeApp([a, b]);
    const c = connect("sidecar~10.1.0.1~p1.ns1~ns1.svc.cluster.local", "delta");
    c.subscribe(CDS, "*");
    expect((await c.next((r) => r.typeUrl === CDS)).names.sort()).toEqual([clusterNameOf(a), clusterNameOf(b)].sort());
    c.subscribe(EDS, [clusterNameOf(a), clusterNameOf(b)]);
    await c.next((r) => r.typeUrl === EDS);
    fake.setServices([{ ...a, endpoints: ["10.0.0.3"] }, b], endpointChange(fqdnOf(a)));
    const eds = await c.next((r) => r.typeUrl === EDS);
    expect(eds.names).toEqual([clusterNameOf(a)]);
    // Incremental EDS must not tell a delta client that the unchanged cluster went away.
    expect(eds.removed).toEqual([]);
    fake.setServices([a], fullChange("Service"));
    const cds = await c.next((r) => r.typeUrl === CDS);
    expect(cds.names).toEqual([]);
    expect(cds.removed).toEqual([clusterNameOf(b)]);
  });
});
