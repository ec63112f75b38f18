import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { packAny } from "@weft/xds-api";
import { ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { DiscoveryResponseSchema } from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb.js";
import { describe, expect, it } from "vitest";
import { encodeSotwResponse, preEncodeResources } from "./pre-encoded-resources.js";

describe("preEncodeResources()", () => {
  it.each([0, 1, 3, 200])("encodes %i resources to what a decoder reads back as the same response", (n) => {
    const resources = Array.from({ length: n }, (_, i) => packAny(ClusterSchema, create(ClusterSchema, { name: `outbound|80||svc-${i}.ns.svc.cluster.local` })));
    const init = { versionInfo: "v1", typeUrl: "type.googleapis.com/envoy.config.cluster.v3.Cluster", nonce: "n1", resources };
    const plain = toBinary(DiscoveryResponseSchema, create(DiscoveryResponseSchema, init));
    const fast = toBinary(DiscoveryResponseSchema, preEncodeResources(create(DiscoveryResponseSchema, init)));
    const decoded = fromBinary(DiscoveryResponseSchema, fast);
    expect(decoded.resources.map((r) => fromBinary(ClusterSchema, r.value).name)).toEqual(resources.map((r) => fromBinary(ClusterSchema, r.value).name));
    expect(decoded.nonce).toBe("n1");
    expect(decoded.$unknown ?? []).toEqual([]);
    expect(fast.length).toBe(plain.length);
    // Chunked: the per-proxy part, then the shared run, uncopied.
    const response = preEncodeResources(create(DiscoveryResponseSchema, init));
    const chunks = encodeSotwResponse(response);
    if (n > 0) expect(chunks[1]).toBe(response.$unknown?.[0].data);
    const joined = fromBinary(DiscoveryResponseSchema, Buffer.concat(chunks));
    expect(joined.resources.map((r) => fromBinary(ClusterSchema, r.value).name)).toEqual(resources.map((r) => fromBinary(ClusterSchema, r.value).name));
    expect(joined).toMatchObject({ versionInfo: "v1", typeUrl: init.typeUrl, nonce: "n1" });
    expect(Buffer.concat(chunks).length).toBe(plain.length);
  });
});

describe("preEncodeResources() with a shared snapshot", () => {
  it("builds the run once for every response answering the same snapshot and subscription", () => {
    const resources = [0, 1].map((i) => packAny(ClusterSchema, create(ClusterSchema, { name: `c${i}` })));
    const snapshot = {};
    const names = ["c0", "c1"];
    const r1 = preEncodeResources(create(DiscoveryResponseSchema, { nonce: "1", resources }), { snapshot, names });
    const r2 = preEncodeResources(create(DiscoveryResponseSchema, { nonce: "2", resources: [...resources] }), { snapshot, names: [...names] });
    expect(r2.$unknown?.[0].data).toBe(r1.$unknown?.[0].data);
    expect(fromBinary(DiscoveryResponseSchema, toBinary(DiscoveryResponseSchema, r2)).resources).toHaveLength(2);
  });
});
