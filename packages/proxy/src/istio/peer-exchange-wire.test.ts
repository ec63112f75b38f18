// Istio's TCP metadata exchange bytes, written out by hand from istio/proxy's
// metadata_exchange.cc and google/protobuf's any.proto / struct.proto: the
// initial header (magic 0x3D230467, length, both big-endian), then an Any
// (type_url = 1, value = 2) of a Struct (fields = 1, a map of entries key = 1,
// value = 2; Value string_value = 3, struct_value = 5), map keys in sorted
// order as Istio's deterministic serialization writes them.
import { describe, expect, it } from "vitest";
import { decodePeerExchangePayload, encodePeerExchange, exchangedMetadataOf } from "./peer-exchange-wire.js";

const utf8 = (s: string): number[] => [...Buffer.from(s, "utf8")];

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** A length-delimited field (wire type 2). */
const ld = (field: number, body: number[]): number[] => [(field << 3) | 2, ...varint(body.length), ...body];
const str = (s: string): number[] => ld(3, utf8(s)); // Value.string_value
const struct = (entries: number[]): number[] => ld(5, entries); // Value.struct_value
const entry = (key: string, value: number[]): number[] => ld(1, [...ld(1, utf8(key)), ...ld(2, value)]); // Struct.fields entry

function framed(any: number[]): Buffer {
  const len = any.length;
  return Buffer.from([0x3d, 0x23, 0x04, 0x67, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff, ...any]);
}

const anyOfStruct = (structBytes: number[]): number[] => [...ld(1, utf8("type.googleapis.com/google.protobuf.Struct")), ...ld(2, structBytes)];

// What an Istio sidecar of workload "w" (app "a", version "v1") in namespace "ns", node id "n1", sends.
const ISTIO_HEADER = framed(
  anyOfStruct([
    ...entry(
      "x-envoy-peer-metadata",
      struct([...entry("LABELS", struct([...entry("app", str("a")), ...entry("version", str("v1"))])), ...entry("NAMESPACE", str("ns")), ...entry("WORKLOAD_NAME", str("w"))]),
    ),
    ...entry("x-envoy-peer-metadata-id", str("n1")),
  ]),
);

describe("Istio's TCP metadata exchange header", () => {
  it("is what this proxy sends, byte for byte", () => {
    const node = { id: "n1", metadata: { NAMESPACE: "ns", WORKLOAD_NAME: "w", PROXY_CONFIG: { concurrency: 2 }, LABELS: { version: "v1", app: "a", "pod-template-hash": "77" } } };
    expect(encodePeerExchange(node).toString("hex")).toBe(ISTIO_HEADER.toString("hex"));
  });

  it("reads the peer from an Istio sidecar's payload", () => {
    expect(decodePeerExchangePayload(ISTIO_HEADER.subarray(8))).toEqual({ workloadName: "w", namespace: "ns", canonicalName: "", canonicalRevision: "", appName: "a", appVersion: "v1", clusterId: "" });
  });

  it("reads the whole flat node metadata older Istio releases send under the same key", () => {
    // x-envoy-peer-metadata of a real details-v1 sidecar (Bookinfo): NAME, NAMESPACE, LABELS, OWNER, WORKLOAD_NAME…
    const details = [
      ...Buffer.from(
        "Ch4KDElOU1RBTkNFX0lQUxIOGgwxNzIuMTYuMC4yMDgK1QEKBkxBQkVMUxLKASrHAQoQCgNhcHASCRoHZGV0YWlscwohChFwb2QtdGVtcGxhdGUtaGFzaBIMGgo3NzdkOGY1NDc1CiQKGXNlY3VyaXR5LmlzdGlvLmlvL3Rsc01vZGUSBxoFaXN0aW8KLAofc2VydmljZS5pc3Rpby5pby9jYW5vbmljYWwtbmFtZRIJGgdkZXRhaWxzCisKI3NlcnZpY2UuaXN0aW8uaW8vY2Fub25pY2FsLXJldmlzaW9uEgQaAnYxCg8KB3ZlcnNpb24SBBoCdjEKGgoHTUVTSF9JRBIPGg1jbHVzdGVyLmxvY2FsCiUKBE5BTUUSHRobZGV0YWlscy12MS03NzdkOGY1NDc1LWY0Z3c0ChYKCU5BTUVTUEFDRRIJGgdkZWZhdWx0Ck4KBU9XTkVSEkUaQ2t1YmVybmV0ZXM6Ly9hcGlzL2FwcHMvdjEvbmFtZXNwYWNlcy9kZWZhdWx0L2RlcGxveW1lbnRzL2RldGFpbHMtdjEKJQoPU0VSVklDRV9BQ0NPVU5UEhIaEGJvb2tpbmZvLWRldGFpbHMKHQoNV09SS0xPQURfTkFNRRIMGgpkZXRhaWxzLXYx",
        "base64",
      ),
    ];
    const payload = Buffer.from(anyOfStruct(entry("x-envoy-peer-metadata", struct(details))));
    expect(decodePeerExchangePayload(payload)).toEqual({ workloadName: "details-v1", namespace: "default", canonicalName: "details", canonicalRevision: "v1", appName: "details", appVersion: "v1", clusterId: "" });
  });

  it("sends Istio's keys only, with OWNER rebuilt from the workload kind", () => {
    expect(
      exchangedMetadataOf({
        NAME: "details-v1-777d8f5475-f4gw4",
        NAMESPACE: "default",
        WORKLOAD_NAME: "details-v1",
        CLUSTER_ID: "Kubernetes",
        OWNER: "kubernetes://apis/apps/v1/namespaces/default/deployments/details-v1",
        MESH_ID: "cluster.local",
        LABELS: { app: "details", version: "v1", "service.istio.io/canonical-name": "details", "service.istio.io/canonical-revision": "v1" },
      }),
    ).toEqual({
      CLUSTER_ID: "Kubernetes",
      LABELS: { app: "details", "service.istio.io/canonical-name": "details", "service.istio.io/canonical-revision": "v1", version: "v1" },
      NAME: "details-v1-777d8f5475-f4gw4",
      NAMESPACE: "default",
      OWNER: "kubernetes://apis/apps/v1/namespaces/default/deployments/details-v1",
      WORKLOAD_NAME: "details-v1",
    });
  });

  it("finds no peer in a payload that is not an Any of a Struct", () => {
    expect(decodePeerExchangePayload(Buffer.from([0xff, 0xff, 0xff]))).toBeUndefined();
    expect(decodePeerExchangePayload(Buffer.from([...ld(1, utf8("type.googleapis.com/google.protobuf.Duration")), ...ld(2, [8, 1])]))).toBeUndefined();
    expect(decodePeerExchangePayload(Buffer.from(anyOfStruct(entry("x-envoy-peer-metadata-id", str("n1")))))).toBeUndefined();
  });
});
