import { create } from "@bufbuild/protobuf";
import { NodeSchema } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb.js";
import { describe, expect, it } from "vitest";
import { makeNode, proxyOf } from "../test-util/mesh-fixtures.js";
import { json, productpageProxy, smallPush } from "../test-util/small-mesh.js";
import { parseProxy } from "./parse-proxy.js";

describe("parseProxy()", () => {
  it("reads Istio's node id and metadata", () => {
    const p = parseProxy(makeNode({ ip: "10.1.0.6", pod: "productpage-v1-abc", namespace: "bookinfo", labels: { app: "productpage" }, generator: "grpc" }), "cluster.local");
    expect(p).toMatchObject({ type: "sidecar", ipAddresses: ["10.1.0.6"], podName: "productpage-v1-abc.bookinfo", namespace: "bookinfo", dnsDomain: "bookinfo.svc.cluster.local", labels: { app: "productpage" }, generator: "grpc" });
  });

  it("reads router ids and falls back to the id when metadata is absent", () => {
    const p = parseProxy(create(NodeSchema, { id: "router~10.244.2.5~istio-ingressgateway-xyz.istio-system~istio-system.svc.cluster.local" }), "cluster.local");
    expect(p).toMatchObject({ type: "router", namespace: "istio-system", labels: {}, ipAddresses: ["10.244.2.5"] });
    expect(p.generator).toBeUndefined();
  });

  it("rejects ids that are not Istio's, saying what they should look like", () => {
    expect(() => parseProxy(create(NodeSchema, { id: "my-proxy" }), "cluster.local")).toThrow(/node id "my-proxy" is not <type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local/);
    expect(() => parseProxy(create(NodeSchema, { id: "waypoint~1.2.3.4~a.b~b.svc.cluster.local" }), "cluster.local")).toThrow(/type "waypoint" must be "sidecar" or "router"/);
  });
});

describe("push context scoping", () => {
  it("hides services not exported to the proxy's namespace", () => {
    const push = smallPush(`apiVersion: v1
kind: Service
metadata: { name: private, namespace: other, annotations: { networking.istio.io/exportTo: "." } }
spec: { clusterIP: 10.96.9.9, ports: [{ name: http, port: 8000 }] }
`);
    const fromDefault = json(push, productpageProxy(), "Cluster").map((c) => c.name);
    expect(fromDefault).not.toContain("outbound|8000||private.other.svc.cluster.local");
    const fromOther = json(push, proxyOf({ ip: "10.3.0.1", pod: "x", namespace: "other" }), "Cluster").map((c) => c.name);
    expect(fromOther).toContain("outbound|8000||private.other.svc.cluster.local");
  });

  it("applies VirtualServices exported only to their namespace to that namespace's proxies only", () => {
    const push = smallPush(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  exportTo: ["."]
  http: [{ route: [{ destination: { host: reviews, subset: v3 } }] }]
`);
    const cluster = (ns: string): unknown => {
      const rc = json(push, proxyOf({ ip: "10.3.0.1", pod: "x", namespace: ns }), "RouteConfiguration", ["9080"])[0];
      const vh = (rc.virtual_hosts as Array<{ name: string; routes: Array<{ route: { cluster: string } }> }>).find((v) => v.name === "reviews.default.svc.cluster.local:9080")!;
      return vh.routes[0].route.cluster;
    };
    expect(cluster("default")).toBe("outbound|9080|v3|reviews.default.svc.cluster.local");
    expect(cluster("other")).toBe("outbound|9080||reviews.default.svc.cluster.local");
  });

  it("shares a config key between identical proxies and separates different ones", () => {
    const push = smallPush();
    const a = proxyOf({ ip: "10.1.0.1", pod: "reviews-v1-a", namespace: "default", labels: { app: "reviews", version: "v1" } });
    const b = proxyOf({ ip: "10.1.0.7", pod: "reviews-v1-b", namespace: "default", labels: { version: "v1", app: "reviews" } });
    const c = proxyOf({ ip: "10.1.0.2", pod: "reviews-v2", namespace: "default", labels: { app: "reviews", version: "v2" } });
    expect(push.configKey(a)).toBe(push.configKey(b));
    expect(push.configKey(a)).not.toBe(push.configKey(c));
  });

  it("reports a route to an unknown subset with file, object and field, and keeps generating the rest", () => {
    const push = smallPush(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
  - route:
    - { destination: { host: reviews, subset: v1 }, weight: 90 }
    - { destination: { host: reviews, subset: v9 }, weight: 10 }
`);
    expect(push.errors).toEqual([
      {
        origin: "test.yaml (document 12)",
        object: "VirtualService default/reviews",
        field: "spec.http[0].route[1].destination.subset",
        reason: 'subset "v9" is not defined in DestinationRule default/reviews for host reviews.default.svc.cluster.local (it has v1, v2, v3); this destination\'s share of traffic fails with 503 until it is defined',
      },
    ]);
    const names = json(push, productpageProxy(), "Cluster").map((c) => c.name);
    expect(names).toContain("outbound|9080|v1|reviews.default.svc.cluster.local");
    expect(names).not.toContain("outbound|9080|v9|reviews.default.svc.cluster.local");
  });
});
