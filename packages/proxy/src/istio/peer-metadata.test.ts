import { describe, expect, it } from "vitest";
import { decodePeerMetadata, encodePeerMetadata, endpointWorkloadOf, namespaceOfPrincipal } from "./peer-metadata.js";

// x-envoy-peer-metadata as a real Istio sidecar (details-v1, Bookinfo) sent it, captured from curl -v.
const ISTIO_DETAILS_V1 =
  "Ch4KDElOU1RBTkNFX0lQUxIOGgwxNzIuMTYuMC4yMDgK1QEKBkxBQkVMUxLKASrHAQoQCgNhcHASCRoHZGV0YWlscwohChFwb2QtdGVtcGxhdGUtaGFzaBIMGgo3NzdkOGY1NDc1CiQKGXNlY3VyaXR5LmlzdGlvLmlvL3Rsc01vZGUSBxoFaXN0aW8KLAofc2VydmljZS5pc3Rpby5pby9jYW5vbmljYWwtbmFtZRIJGgdkZXRhaWxzCisKI3NlcnZpY2UuaXN0aW8uaW8vY2Fub25pY2FsLXJldmlzaW9uEgQaAnYxCg8KB3ZlcnNpb24SBBoCdjEKGgoHTUVTSF9JRBIPGg1jbHVzdGVyLmxvY2FsCiUKBE5BTUUSHRobZGV0YWlscy12MS03NzdkOGY1NDc1LWY0Z3c0ChYKCU5BTUVTUEFDRRIJGgdkZWZhdWx0Ck4KBU9XTkVSEkUaQ2t1YmVybmV0ZXM6Ly9hcGlzL2FwcHMvdjEvbmFtZXNwYWNlcy9kZWZhdWx0L2RlcGxveW1lbnRzL2RldGFpbHMtdjEKJQoPU0VSVklDRV9BQ0NPVU5UEhIaEGJvb2tpbmZvLWRldGFpbHMKHQoNV09SS0xPQURfTkFNRRIMGgpkZXRhaWxzLXYx";

describe("peer metadata headers", () => {
  it("reads the header a real Istio sidecar sends", () => {
    expect(decodePeerMetadata(ISTIO_DETAILS_V1)).toEqual({
      workloadName: "details-v1",
      namespace: "default",
      canonicalName: "details",
      canonicalRevision: "v1",
      appName: "details",
      appVersion: "v1",
      clusterId: "",
    });
  });

  it("writes what it reads back, keeping only the shared keys and labels", () => {
    const metadata = {
      NAME: "reviews-v1-abc",
      NAMESPACE: "bookinfo",
      WORKLOAD_NAME: "reviews-v1",
      CLUSTER_ID: "Kubernetes",
      PROXY_CONFIG: { discoveryAddress: "istiod:15012" },
      LABELS: { app: "reviews", version: "v1", "service.istio.io/canonical-name": "reviews", "service.istio.io/canonical-revision": "v1", "pod-template-hash": "77" },
    };
    const header = encodePeerMetadata(metadata);
    expect(decodePeerMetadata(header)).toEqual({ workloadName: "reviews-v1", namespace: "bookinfo", canonicalName: "reviews", canonicalRevision: "v1", appName: "reviews", appVersion: "v1", clusterId: "Kubernetes" });
    const text = Buffer.from(header, "base64").toString("latin1");
    expect(text).not.toContain("PROXY_CONFIG");
    expect(text).not.toContain("pod-template-hash");
  });

  it("treats garbage, empty and oversized values as an unknown peer", () => {
    expect(decodePeerMetadata("not base64 at all!!")).toBeUndefined();
    expect(decodePeerMetadata(Buffer.from([0xff, 0xff, 0xff]).toString("base64"))).toBeUndefined();
    expect(decodePeerMetadata("")).toBeUndefined();
    expect(decodePeerMetadata(undefined)).toBeUndefined();
    expect(decodePeerMetadata(["a", "b"])).toBeUndefined();
    expect(decodePeerMetadata(ISTIO_DETAILS_V1.repeat(20))).toBeUndefined();
  });

  it("finds the namespace in a SPIFFE principal", () => {
    expect(namespaceOfPrincipal("spiffe://cluster.local/ns/bookinfo/sa/reviews")).toBe("bookinfo");
    expect(namespaceOfPrincipal("spiffe://cluster.local/ns/edge")).toBe("edge");
    expect(namespaceOfPrincipal("spiffe://cluster.local/sa/x")).toBe("");
  });

  it("reads an endpoint's istio.workload metadata as istiod encodes it, and nothing from a malformed one", () => {
    expect(endpointWorkloadOf("reviews-v2;bookinfo;reviews;v2;Kubernetes")).toEqual({ workloadName: "reviews-v2", namespace: "bookinfo", canonicalName: "reviews", canonicalRevision: "v2", clusterId: "Kubernetes", appName: "", appVersion: "" });
    expect(endpointWorkloadOf("reviews-v2;bookinfo;reviews")).toBeUndefined();
    expect(endpointWorkloadOf("")).toBeUndefined();
    expect(endpointWorkloadOf(undefined)).toBeUndefined();
  });
});
