import type { JsonObject } from "@bufbuild/protobuf";
import { TypeUrl } from "@weft/xds-api";
import { describe, expect, it } from "vitest";
import { generate, proxyOf, validationIssues } from "../test-util/mesh-fixtures.js";
import { json, productpageProxy, smallPush } from "../test-util/small-mesh.js";

const byName = (list: JsonObject[]): Map<string, JsonObject> => new Map(list.map((c) => [String(c.name), c]));

describe("CDS", () => {
  it("has outbound clusters per port and subset, inbound per target port, and the special clusters", () => {
    const push = smallPush();
    const proxy = productpageProxy();
    const names = generate(push, proxy, TypeUrl.Cluster).map((r) => r.name);
    expect(names).toEqual([
      "outbound|27017||mongo.default.svc.cluster.local",
      "outbound|9080||productpage.default.svc.cluster.local",
      "outbound|7070||ratings.default.svc.cluster.local",
      "outbound|9080||reviews.default.svc.cluster.local",
      "outbound|9080|v1|reviews.default.svc.cluster.local",
      "outbound|9080|v2|reviews.default.svc.cluster.local",
      "outbound|9080|v3|reviews.default.svc.cluster.local",
      "inbound|9080||",
      "BlackHoleCluster",
      "PassthroughCluster",
      "InboundPassthroughCluster",
    ]);
    expect(validationIssues(generate(push, proxy, TypeUrl.Cluster))).toEqual([]);
  });

  it("makes HTTP/2 upstreams for grpc ports and inbound ports on the targetPort", () => {
    const push = smallPush();
    const ratings = proxyOf({ ip: "10.1.0.4", pod: "ratings-v1", namespace: "default", labels: { app: "ratings", version: "v1" } });
    const clusters = byName(json(push, ratings, "Cluster"));
    expect(clusters.get("outbound|7070||ratings.default.svc.cluster.local")!.typed_extension_protocol_options).toEqual({
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": { "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions", explicit_http_config: { http2_protocol_options: {} } },
    });
    expect(clusters.has("inbound|7071||")).toBe(true);
  });

  it("translates a DestinationRule's load balancer, connection pool and outlier detection, with subset overrides", () => {
    const push = smallPush(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: productpage, namespace: default }
spec:
  host: productpage
  trafficPolicy:
    loadBalancer: { simple: ROUND_ROBIN }
    connectionPool:
      tcp: { maxConnections: 100, connectTimeout: 30ms }
      http: { http1MaxPendingRequests: 10, http2MaxRequests: 1000, maxRetries: 3, maxRequestsPerConnection: 1, idleTimeout: 30s }
    outlierDetection: { consecutive5xxErrors: 7, interval: 5m, baseEjectionTime: 15m, maxEjectionPercent: 50, minHealthPercent: 30 }
  subsets:
  - name: v1
    labels: { version: v1 }
    trafficPolicy: { loadBalancer: { simple: RANDOM } }
  - name: sticky
    labels: { version: v1 }
    trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: x-user, minimumRingSize: 2048 } } }
`);
    const clusters = byName(json(push, productpageProxy(), "Cluster"));
    const main = clusters.get("outbound|9080||productpage.default.svc.cluster.local")!;
    expect(main.lb_policy).toBeUndefined(); // ROUND_ROBIN is Envoy's default enum value
    expect(main.connect_timeout).toBe("0.030s");
    expect(main.circuit_breakers).toEqual({ thresholds: [{ max_connections: 100, max_pending_requests: 10, max_requests: 1000, max_retries: 3, track_remaining: true }] });
    expect(main.outlier_detection).toEqual({ consecutive_5xx: 7, interval: "300s", base_ejection_time: "900s", max_ejection_percent: 50, enforcing_consecutive_5xx: 100, enforcing_success_rate: 0 });
    expect(main.common_lb_config).toEqual({ healthy_panic_threshold: { value: 30 } });
    expect((main.typed_extension_protocol_options as JsonObject)["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]).toMatchObject({ common_http_protocol_options: { idle_timeout: "30s", max_requests_per_connection: 1 } });
    expect(clusters.get("outbound|9080|v1|productpage.default.svc.cluster.local")!.lb_policy).toBe("RANDOM");
    expect(clusters.get("outbound|9080|v1|productpage.default.svc.cluster.local")!.circuit_breakers).toEqual(main.circuit_breakers);
    const sticky = clusters.get("outbound|9080|sticky|productpage.default.svc.cluster.local")!;
    expect(sticky.lb_policy).toBe("RING_HASH");
    expect(sticky.ring_hash_lb_config).toEqual({ minimum_ring_size: "2048" });
    expect(validationIssues(generate(push, productpageProxy(), TypeUrl.Cluster))).toEqual([]);
  });

  it("uses STRICT_DNS for DNS ServiceEntries, EDS for STATIC ones and ORIGINAL_DST for NONE", () => {
    const push = smallPush(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: external, namespace: default }
spec:
  hosts: [api.example.com]
  ports: [{ number: 443, name: tls, protocol: TLS }]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: vms, namespace: default }
spec:
  hosts: [vm.internal]
  addresses: [240.0.0.1]
  ports: [{ number: 8080, name: http, protocol: HTTP }]
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints: [{ address: 192.0.2.10 }, { address: 192.0.2.11, ports: { http: 9090 } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: any, namespace: default }
spec:
  hosts: [db.example.com]
  ports: [{ number: 5432, name: tcp, protocol: TCP }]
  resolution: NONE
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: rr, namespace: default }
spec:
  hosts: [rr.example.com]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: DNS_ROUND_ROBIN
`);
    const clusters = byName(json(push, productpageProxy(), "Cluster"));
    expect(clusters.get("outbound|443||api.example.com")).toMatchObject({
      type: "STRICT_DNS",
      dns_lookup_family: "V4_ONLY",
      load_assignment: { cluster_name: "outbound|443||api.example.com", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "api.example.com", port_value: 443 } } } }] }] },
    });
    expect(clusters.get("outbound|8080||vm.internal")!.type).toBe("EDS");
    expect(clusters.get("outbound|80||rr.example.com")!.type).toBe("LOGICAL_DNS");
    expect(clusters.get("outbound|5432||db.example.com")).toMatchObject({ type: "ORIGINAL_DST", lb_policy: "CLUSTER_PROVIDED" });
    const cla = json(push, productpageProxy(), "ClusterLoadAssignment", ["outbound|8080||vm.internal"])[0];
    const eps = ((cla.endpoints as JsonObject[])[0].lb_endpoints as JsonObject[]).map((e) => (e.endpoint as { address: { socket_address: { port_value: number } } }).address.socket_address.port_value);
    expect(eps).toEqual([8080, 9090]);
    expect(validationIssues(generate(push, productpageProxy(), TypeUrl.Cluster))).toEqual([]);
  });

  it("makes inbound clusters STATIC to 127.0.0.1 when asked (no-capture local mode)", () => {
    const push = smallPush("", { inboundCluster: "STATIC" });
    const inbound = byName(json(push, productpageProxy(), "Cluster")).get("inbound|9080||")!;
    expect(inbound).toMatchObject({ type: "STATIC", load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: 9080 } } } }] }] } });
  });

  it("gives proxyless gRPC clients EDS clusters with ROUND_ROBIN only", () => {
    const push = smallPush(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ratings, namespace: default }
spec:
  host: ratings
  trafficPolicy: { loadBalancer: { simple: LEAST_REQUEST } }
`);
    const client = proxyOf({ ip: "10.9.0.1", pod: "client", namespace: "default", generator: "grpc" });
    const clusters = byName(json(push, client, "Cluster"));
    const c = clusters.get("outbound|7070||ratings.default.svc.cluster.local")!;
    expect(c.type).toBe("EDS");
    expect(c.lb_policy).toBeUndefined();
    expect(c.eds_cluster_config).toEqual({ eds_config: { ads: {}, resource_api_version: "V3" }, service_name: "outbound|7070||ratings.default.svc.cluster.local" });
    expect(clusters.has("PassthroughCluster")).toBe(false);
  });
});
