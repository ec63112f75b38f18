import type { JsonObject } from "@bufbuild/protobuf";
import { TypeUrl } from "@weft/xds-api";
import { describe, expect, it } from "vitest";
import { generate, validationIssues } from "../test-util/mesh-fixtures.js";
import { json, productpageProxy, smallPush } from "../test-util/small-mesh.js";

const addresses = (cla: JsonObject): string[] =>
  (cla.endpoints as JsonObject[]).flatMap((g) => (g.lb_endpoints as JsonObject[]).map((e) => (e.endpoint as { address: { socket_address: { address: string } } }).address.socket_address.address));

describe("EDS", () => {
  it("filters endpoints by subset labels", () => {
    const push = smallPush();
    const [all, v2] = json(push, productpageProxy(), "ClusterLoadAssignment", ["outbound|9080||reviews.default.svc.cluster.local", "outbound|9080|v2|reviews.default.svc.cluster.local"]);
    expect(addresses(all)).toEqual(["10.1.0.1", "10.1.0.2", "10.1.0.3"]);
    expect(addresses(v2)).toEqual(["10.1.0.2"]);
  });

  it("uses the targetPort and groups endpoints by locality", () => {
    const push = smallPush(`apiVersion: v1
kind: Pod
metadata: { name: ratings-v2, namespace: default, labels: { app: ratings, version: v2, istio-locality: us-west1.us-west1-a } }
status: { podIP: 10.1.0.9 }
`);
    const [cla] = json(push, productpageProxy(), "ClusterLoadAssignment", ["outbound|7070||ratings.default.svc.cluster.local"]);
    expect(cla.endpoints).toMatchObject([
      { lb_endpoints: [{ endpoint: { address: { socket_address: { address: "10.1.0.4", port_value: 7071 } } } }], load_balancing_weight: 1 },
      { locality: { region: "us-west1", zone: "us-west1-a" }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: "10.1.0.9", port_value: 7071 } } } }] },
    ]);
  });

  it("leaves out Pods that are not Ready, as Kubernetes does", () => {
    const push = smallPush(`apiVersion: v1
kind: Pod
metadata: { name: reviews-v4, namespace: default, labels: { app: reviews, version: v4 } }
status: { podIP: 10.1.0.8, conditions: [{ type: Ready, status: "False" }] }
`);
    const [cla] = json(push, productpageProxy(), "ClusterLoadAssignment", ["outbound|9080||reviews.default.svc.cluster.local"]);
    expect(addresses(cla)).not.toContain("10.1.0.8");
  });

  it("prefers an EndpointSlice over selector-derived endpoints, mapping ports by name", () => {
    const push = smallPush(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: reviews-1, namespace: default, labels: { kubernetes.io/service-name: reviews } }
addressType: IPv4
ports: [{ name: http, port: 19080 }]
endpoints:
- { addresses: [10.5.0.1], conditions: { ready: true } }
- { addresses: [10.5.0.2], conditions: { ready: false } }
`);
    const [cla] = json(push, productpageProxy(), "ClusterLoadAssignment", ["outbound|9080||reviews.default.svc.cluster.local"]);
    expect(addresses(cla)).toEqual(["10.5.0.1"]);
    expect(JSON.stringify(cla)).toContain('"port_value":19080');
  });

  it("answers every EDS cluster when no names are given, and nothing for unknown names", () => {
    const push = smallPush();
    const all = generate(push, productpageProxy(), TypeUrl.ClusterLoadAssignment);
    expect(all.map((r) => r.name)).toContain("outbound|9080|v3|reviews.default.svc.cluster.local");
    expect(validationIssues(all)).toEqual([]);
    expect(generate(push, productpageProxy(), TypeUrl.ClusterLoadAssignment, ["outbound|9080|v9|reviews.default.svc.cluster.local", "nonsense"])).toEqual([]);
  });

  it("versions by content: the same endpoints give the same version across pushes", () => {
    const a = generate(smallPush(), productpageProxy(), TypeUrl.ClusterLoadAssignment);
    const b = generate(smallPush(), productpageProxy(), TypeUrl.ClusterLoadAssignment);
    expect(a.map((r) => r.version)).toEqual(b.map((r) => r.version));
  });
});
