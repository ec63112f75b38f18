import { create, equals, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { TypeUrl } from "@weft/xds-api";
import { DiscoveryRequestSchema } from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb.js";
import { describe, expect, it } from "vitest";
import { createSotwRequestDecoder } from "./sotw-request-decoder.js";

const names = Array.from({ length: 50 }, (_, i) => `outbound|8080||svc-${i}.bench.svc.cluster.local`);

function request(init: MessageInitShape<typeof DiscoveryRequestSchema>): Uint8Array {
  return toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { typeUrl: TypeUrl.ClusterLoadAssignment, ...init }));
}

describe("createSotwRequestDecoder()", () => {
  it("decodes exactly what fromBinary does, for first requests, repeats and changes", () => {
    const decode = createSotwRequestDecoder();
    const wire = [
      request({ node: { id: "sidecar~10.0.0.1~a.ns~ns.svc.cluster.local" }, resourceNames: names }),
      request({ versionInfo: "v1", responseNonce: "1", resourceNames: names }),
      request({ versionInfo: "v2", responseNonce: "2", resourceNames: names }),
      request({ versionInfo: "v2", responseNonce: "3", resourceNames: [...names, "outbound|80||new.ns.svc.cluster.local"] }),
      request({ versionInfo: "v2", responseNonce: "4", resourceNames: names, errorDetail: { code: 3, message: "rejected" } }),
      request({ versionInfo: "v3", responseNonce: "5", resourceNames: names.slice(0, 2) }),
      request({ typeUrl: TypeUrl.Cluster, versionInfo: "c1", responseNonce: "6" }),
    ];
    for (const bytes of wire) expect(equals(DiscoveryRequestSchema, decode(bytes), fromBinary(DiscoveryRequestSchema, bytes))).toBe(true);
  });

  it("hands back the strings of the earlier request when the list repeats", () => {
    const decode = createSotwRequestDecoder();
    const first = decode(request({ resourceNames: names }));
    const ack = decode(request({ versionInfo: "v1", responseNonce: "1", resourceNames: names }));
    expect(ack.versionInfo).toBe("v1");
    expect(ack.resourceNames).toEqual(names);
    expect(ack.resourceNames).not.toBe(first.resourceNames); // a copy: callers may keep or change it
    ack.resourceNames.push("mutated");
    expect(decode(request({ responseNonce: "2", resourceNames: names })).resourceNames).toEqual(names);
  });

  it("decodes normally when the names are interleaved with other fields", () => {
    const w = new BinaryWriter();
    w.tag(3, WireType.LengthDelimited).string(names[0]);
    w.tag(4, WireType.LengthDelimited).string(TypeUrl.ClusterLoadAssignment);
    for (const n of names.slice(1)) w.tag(3, WireType.LengthDelimited).string(n);
    const bytes = w.finish();
    const decode = createSotwRequestDecoder();
    for (let i = 0; i < 2; i++) expect(equals(DiscoveryRequestSchema, decode(bytes), fromBinary(DiscoveryRequestSchema, bytes))).toBe(true);
  });

  it("lets fromBinary report malformed input", () => {
    const decode = createSotwRequestDecoder();
    expect(() => decode(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]))).toThrow();
  });
});
