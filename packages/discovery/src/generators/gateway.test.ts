import type { JsonObject } from "@bufbuild/protobuf";
import { TypeUrl } from "@weft/xds-api";
import { describe, expect, it } from "vitest";
import { generate, proxyOf, validationIssues } from "../test-util/mesh-fixtures.js";
import { json, smallPush } from "../test-util/small-mesh.js";

const INGRESS = `apiVersion: v1
kind: Service
metadata: { name: istio-ingressgateway, namespace: istio-system }
spec:
  clusterIP: 10.96.20.10
  selector: { istio: ingressgateway }
  ports: [{ name: http2, port: 80, targetPort: 8080 }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: public, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 80, name: http, protocol: HTTP }
    hosts: ["default/reviews.example.com", "other/*.other.example.com"]
  - port: { number: 9000, name: http-admin, protocol: HTTP }
    hosts: ["*"]
`;
const gateway = proxyOf({ type: "router", ip: "10.244.2.5", pod: "ingress", namespace: "istio-system", labels: { istio: "ingressgateway" } });

describe("gateways", () => {
  it("binds server port 80 on the Service's targetPort 8080, and other ports as written", () => {
    const push = smallPush(INGRESS);
    expect(json(push, gateway, "Listener").map((l) => l.name)).toEqual(["0.0.0.0_8080", "0.0.0.0_9000"]);
    expect(json(push, gateway, "RouteConfiguration").map((r) => r.name)).toEqual(["http.8080", "http.9000"]);
    expect(validationIssues(generate(push, gateway, TypeUrl.Listener))).toEqual([]);
  });

  it("binds VirtualServices by gateways (ns/name) and admits hosts by the server's namespace", () => {
    const push = smallPush(`${INGRESS}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews-public, namespace: default }
spec:
  hosts: [reviews.example.com]
  gateways: [istio-system/public]
  http:
  - match: [{ uri: { prefix: /reviews } }]
    rewrite: { uri: / }
    route: [{ destination: { host: reviews, port: { number: 9080 } } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: sneaky, namespace: default }
spec:
  hosts: [x.other.example.com]
  gateways: [istio-system/public]
  http: [{ route: [{ destination: { host: reviews } }] }]
`);
    const [rc] = json(push, gateway, "RouteConfiguration", ["http.8080"]);
    const hosts = rc.virtual_hosts as JsonObject[];
    expect(hosts.map((h) => [h.name, h.domains])).toEqual([["reviews.example.com:80", ["reviews.example.com", "reviews.example.com:*"]]]);
    expect((hosts[0].routes as JsonObject[])[0]).toMatchObject({ match: { prefix: "/reviews", case_sensitive: true }, route: { cluster: "outbound|9080||reviews.default.svc.cluster.local", prefix_rewrite: "/" } });
    expect(validationIssues(generate(push, gateway, TypeUrl.RouteConfiguration))).toEqual([]);
  });

  it("answers 404 from a blackhole virtual host when no VirtualService is bound", () => {
    const push = smallPush(INGRESS);
    const [rc] = json(push, gateway, "RouteConfiguration", ["http.9000"]);
    expect(rc.virtual_hosts).toEqual([{ name: "blackhole:9000", domains: ["*"], routes: [{ name: "default", match: { prefix: "/" }, direct_response: { status: 404 } }], include_request_attempt_count: true }]);
  });

  it("ignores Gateways whose selector does not match the proxy", () => {
    const push = smallPush(INGRESS.replace("selector: { istio: ingressgateway }\n  servers", "selector: { istio: egressgateway }\n  servers"));
    expect(json(push, gateway, "Listener")).toEqual([]);
  });

  it("routes TLS PASSTHROUGH servers by SNI and TCP servers by port, straight to tcp_proxy", () => {
    const push = smallPush(`apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 443, name: tls, protocol: TLS }
    tls: { mode: PASSTHROUGH }
    hosts: ["*.example.com"]
  - port: { number: 27017, name: mongo, protocol: TCP }
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: edge-routes, namespace: default }
spec:
  hosts: ["*"]
  gateways: [istio-system/edge]
  tls:
  - match: [{ port: 443, sniHosts: [reviews.example.com] }]
    route: [{ destination: { host: reviews, port: { number: 9080 } } }]
  tcp:
  - match: [{ port: 27017 }]
    route: [{ destination: { host: mongo, port: { number: 27017 } } }]
`);
    const listeners = json(push, gateway, "Listener");
    expect(listeners.map((l) => l.name)).toEqual(["0.0.0.0_443", "0.0.0.0_27017"]);
    // istio.stats (gateway class: no Host-header fallback) right before each tcp_proxy.
    const stats = { name: "istio.stats", typed_config: { "@type": "type.googleapis.com/stats.PluginConfig", disable_host_header_fallback: true } };
    expect(listeners[0]).toMatchObject({
      listener_filters: [{ name: "envoy.filters.listener.tls_inspector" }],
      filter_chains: [{ filter_chain_match: { server_names: ["reviews.example.com"] }, filters: [stats, { name: "envoy.filters.network.tcp_proxy", typed_config: { cluster: "outbound|9080||reviews.default.svc.cluster.local" } }] }],
    });
    expect(listeners[1]).toMatchObject({ filter_chains: [{ filters: [stats, { name: "envoy.filters.network.tcp_proxy", typed_config: { cluster: "outbound|27017||mongo.default.svc.cluster.local" } }] }] });
    for (const l of listeners) for (const c of l.filter_chains as JsonObject[]) expect((c.filters as JsonObject[]).map((f) => f.name)).toEqual(["istio.stats", "envoy.filters.network.tcp_proxy"]);
    expect(validationIssues(generate(push, gateway, TypeUrl.Listener))).toEqual([]);
  });
});
