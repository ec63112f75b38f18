import { TypeUrl } from "@weft/xds-api";
import { describe, expect, it } from "vitest";
import { clusterNameOf, createFakeGenerators, createFakePushContextBuilder, fakeParseProxy, serviceObject, type FakeService } from "../test-util/fake-mesh.js";
import { testNode } from "../test-util/ads-test-client.js";
import { createConfigCache, serviceOfCluster, versionOf } from "./config-cache.js";

const a: FakeService = { name: "a", namespace: "ns", port: 80, endpoints: ["10.0.0.1"] };
const b: FakeService = { name: "b", namespace: "ns", port: 80, endpoints: ["10.0.0.2"] };
const snap = (s: FakeService[]) => ({ objects: s.map(serviceObject), errors: [] });

describe("serviceOfCluster()", () => {
  it.each([
    ["outbound|80||a.ns.svc.cluster.local", "a.ns.svc.cluster.local"],
    ["outbound|80|v1|a.ns.svc.cluster.local", "a.ns.svc.cluster.local"],
    ["inbound|80||", undefined],
    ["BlackHoleCluster", undefined],
  ])("%s → %s", (name, fqdn) => expect(serviceOfCluster(name)).toBe(fqdn));
});

describe("versionOf()", () => {
  it("does not depend on order and changes with content", () => {
    const r = (name: string, version: string) => ({ name, version, resource: { typeUrl: "", value: new Uint8Array() } as never });
    expect(versionOf([r("x", "1"), r("y", "2")])).toBe(versionOf([r("y", "2"), r("x", "1")]));
    expect(versionOf([r("x", "1")])).not.toBe(versionOf([r("x", "2")]));
  });
});

describe("createConfigCache()", () => {
  const proxy = fakeParseProxy(testNode("sidecar~10.0.9.1~p.ns~ns.svc.cluster.local"), "cluster.local");
  const other = fakeParseProxy(testNode("sidecar~10.0.9.2~q.ns~ns.svc.cluster.local"), "cluster.local");

  it("computes a type once per config key and push", () => {
    const { generators, calls } = createFakeGenerators();
    const cache = createConfigCache({ generators });
    cache.update(createFakePushContextBuilder().build(snap([a, b])));
    const s1 = cache.snapshot(proxy, TypeUrl.Cluster, "*");
    const s2 = cache.snapshot(other, TypeUrl.Cluster, "*");
    expect(s1).toBe(s2);
    expect(calls.get(TypeUrl.Cluster)).toBe(1);
    expect([...s1.resources.keys()].sort()).toEqual([clusterNameOf(a), clusterNameOf(b)]);
  });

  it("keeps unaffected clusters across an EDS-only update and regenerates the changed one", () => {
    const { generators, calls } = createFakeGenerators();
    const builder = createFakePushContextBuilder();
    const cache = createConfigCache({ generators });
    cache.update(builder.build(snap([a, b])));
    const names = [clusterNameOf(a), clusterNameOf(b)];
    const before = cache.snapshot(proxy, TypeUrl.ClusterLoadAssignment, names);
    cache.update(builder.build(snap([{ ...a, endpoints: ["10.0.0.7"] }, b])), new Set(["a.ns.svc.cluster.local"]));
    const after = cache.snapshot(proxy, TypeUrl.ClusterLoadAssignment, names);
    expect(calls.get(TypeUrl.ClusterLoadAssignment)).toBe(2);
    expect(after.version).not.toBe(before.version);
    expect(after.resources.get(clusterNameOf(b))).toBe(before.resources.get(clusterNameOf(b)));
    expect(after.resources.get(clusterNameOf(a))?.version).not.toBe(before.resources.get(clusterNameOf(a))?.version);
  });

  it("gives an empty snapshot for a type without a generator", () => {
    const { generators } = createFakeGenerators();
    const cache = createConfigCache({ generators });
    cache.update(createFakePushContextBuilder().build(snap([a])));
    expect(cache.snapshot(proxy, TypeUrl.Secret, ["default"]).resources.size).toBe(0);
  });

  it("keys SDS by verified identity, not config key, and drops it only when Secrets change", () => {
    let n = 0;
    const sds = { generate: (p: typeof proxy) => [{ name: "kubernetes://x", version: `${p.verifiedIdentity?.namespace ?? "none"}-${++n}`, resource: { typeUrl: TypeUrl.Secret, value: new Uint8Array() } as never }] };
    const cache = createConfigCache({ generators: new Map([[TypeUrl.Secret, sds]]) });
    const build = () => createFakePushContextBuilder().build(snap([a]));
    cache.update(build());
    const verified = { ...proxy, verifiedIdentity: { namespace: "ns", serviceAccount: "gw" } };
    const plain = cache.snapshot(proxy, TypeUrl.Secret, ["kubernetes://x"]);
    const authed = cache.snapshot(verified, TypeUrl.Secret, ["kubernetes://x"]);
    expect(plain).not.toBe(authed);
    expect(cache.snapshot({ ...other, verifiedIdentity: { namespace: "ns", serviceAccount: "gw" } }, TypeUrl.Secret, ["kubernetes://x"])).toBe(authed);
    cache.update(build(), new Set(["a.ns.svc.cluster.local"]));
    expect(cache.snapshot(verified, TypeUrl.Secret, ["kubernetes://x"])).toBe(authed);
    cache.update(build(), new Set(), new Set(["ns/x"]));
    expect(cache.snapshot(verified, TypeUrl.Secret, ["kubernetes://x"])).not.toBe(authed);
  });
});
