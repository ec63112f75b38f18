// ROUTE_CONFIGURATION, VIRTUAL_HOST, HTTP_ROUTE and CLUSTER patches on the
// small mesh's productpage sidecar, with istiod's expected results.
import type { JsonObject } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { envoyFilter, issuesOf, listenerNamed } from "../test-util/envoy-filter-fixtures.js";
import { json, productpageProxy, smallPush } from "../test-util/small-mesh.js";
import { loadSnapshot, proxyOf, snapshotOf } from "../test-util/mesh-fixtures.js";
import { createPushContextBuilder } from "../push-context/push-context.js";

const proxy = productpageProxy();
const base = smallPush();
const REVIEWS = "reviews.default.svc.cluster.local";
const rc9080 = (push = base): JsonObject => json(push, proxy, "RouteConfiguration", ["9080"])[0];
const vhost = (rc: JsonObject, name: string): JsonObject | undefined => (rc.virtual_hosts as JsonObject[]).find((v) => v.name === name);
const clusters = (push = base): JsonObject[] => json(push, proxy, "Cluster");
const clusterNamed = (push: ReturnType<typeof smallPush>, name: string): JsonObject | undefined => clusters(push).find((c) => c.name === name);

describe("ROUTE_CONFIGURATION, VIRTUAL_HOST, HTTP_ROUTE", () => {
  it("MERGE a route configuration by portNumber, ADD and REMOVE virtual hosts", () => {
    const push = smallPush(
      envoyFilter(
        "routes",
        "default",
        `configPatches:
  - applyTo: ROUTE_CONFIGURATION
    match: { context: SIDECAR_OUTBOUND, routeConfiguration: { portNumber: 9080 } }
    patch: { operation: MERGE, value: { request_headers_to_add: [{ header: { key: x-weft, value: "1" } }] } }
  - applyTo: VIRTUAL_HOST
    match: { context: SIDECAR_OUTBOUND, routeConfiguration: { portNumber: 9080 } }
    patch:
      operation: ADD
      value: { name: "extra.example.com:9080", domains: [extra.example.com], routes: [{ name: extra, match: { prefix: / }, direct_response: { status: 418 } }] }
  - applyTo: VIRTUAL_HOST
    match: { context: SIDECAR_OUTBOUND, routeConfiguration: { vhost: { name: allow_any } } }
    patch: { operation: REMOVE }`,
      ),
    );
    const rc = rc9080(push);
    const before = rc9080();
    expect(rc.request_headers_to_add).toEqual([...((before.request_headers_to_add as JsonObject[] | undefined) ?? []), { header: { key: "x-weft", value: "1" } }]);
    const names = (r: JsonObject) => (r.virtual_hosts as JsonObject[]).map((v) => v.name);
    expect(names(rc)).toEqual([...names(before).filter((n) => n !== "allow_any"), "extra.example.com:9080"]);
    expect(issuesOf(push, proxy)).toEqual([]);
  });

  it("HTTP_ROUTE MERGE by vhost domainName and route name, INSERT_FIRST, and REMOVE by action", () => {
    const push = smallPush(
      envoyFilter(
        "http-routes",
        "default",
        `configPatches:
  - applyTo: HTTP_ROUTE
    match: { context: SIDECAR_OUTBOUND, routeConfiguration: { vhost: { domainName: reviews, route: { name: default } } } }
    patch: { operation: MERGE, value: { route: { timeout: 3s } } }
  - applyTo: HTTP_ROUTE
    match: { context: SIDECAR_OUTBOUND, routeConfiguration: { vhost: { name: "${REVIEWS}:9080", route: { name: default } } } }
    patch: { operation: INSERT_FIRST, value: { name: health, match: { path: /healthz }, direct_response: { status: 200 } } }
  - applyTo: HTTP_ROUTE
    match: { context: SIDECAR_OUTBOUND, routeConfiguration: { vhost: { name: allow_any, route: { action: ROUTE } } } }
    patch: { operation: REMOVE }`,
      ),
    );
    const rc = rc9080(push);
    const reviews = vhost(rc, `${REVIEWS}:9080`)!;
    const baseRoute = (vhost(rc9080(), `${REVIEWS}:9080`)!.routes as JsonObject[])[0];
    expect((reviews.routes as JsonObject[]).map((r) => r.name)).toEqual(["health", "default"]);
    expect((reviews.routes as JsonObject[])[1]).toEqual({ ...baseRoute, route: { ...(baseRoute.route as JsonObject), timeout: "3s" } });
    expect(vhost(rc, "allow_any")!.routes ?? []).toEqual([]);
    // Another vhost's "default" route is not touched: the domainName picks reviews only.
    expect(vhost(rc, "productpage.default.svc.cluster.local:9080")).toEqual(vhost(rc9080(), "productpage.default.svc.cluster.local:9080"));
  });

  it("patches the inbound route configurations inline in virtualInbound as SIDECAR_INBOUND", () => {
    const push = smallPush(
      envoyFilter(
        "inbound-route",
        "default",
        `configPatches:
  - applyTo: HTTP_ROUTE
    match: { context: SIDECAR_INBOUND, routeConfiguration: { portNumber: 9080, vhost: { route: { name: default } } } }
    patch: { operation: MERGE, value: { route: { timeout: 7s } } }`,
      ),
    );
    const inlineRoutes = (push2: ReturnType<typeof smallPush>) =>
      (listenerNamed(push2, proxy, "virtualInbound").filter_chains as JsonObject[])
        .flatMap((c) => c.filters as JsonObject[])
        .filter((f) => f.name === "envoy.filters.network.http_connection_manager")
        .map((f) => (f.typed_config as JsonObject).route_config as JsonObject);
    const patched = inlineRoutes(push);
    const byName = (rcs: JsonObject[], name: string) => rcs.find((rc) => rc.name === name)!;
    const route = (rc: JsonObject) => ((rc.virtual_hosts as JsonObject[])[0].routes as JsonObject[])[0].route as JsonObject;
    expect(route(byName(patched, "inbound|9080||")).timeout).toBe("7s");
    expect(route(byName(patched, "InboundPassthroughCluster")).timeout).toBe("0s");
    expect(rc9080(push)).toEqual(rc9080());
  });
});

describe("CLUSTER", () => {
  it("MERGE on one service's outbound cluster: durations replace, lists append, others untouched", () => {
    const push = smallPush(
      envoyFilter(
        "reviews-cluster",
        "default",
        `configPatches:
  - applyTo: CLUSTER
    match: { context: SIDECAR_OUTBOUND, cluster: { service: ${REVIEWS}, portNumber: 9080, subset: v1 } }
    patch:
      operation: MERGE
      value:
        connect_timeout: 1.5s
        per_connection_buffer_limit_bytes: 65536
        circuit_breakers: { thresholds: [{ priority: HIGH, max_connections: 10 }] }`,
      ),
    );
    const name = `outbound|9080|v1|${REVIEWS}`;
    const before = clusterNamed(base, name)!;
    const after = clusterNamed(push, name)!;
    expect(after).toEqual({
      ...before,
      connect_timeout: "1.500s",
      per_connection_buffer_limit_bytes: 65536,
      circuit_breakers: { thresholds: [...((before.circuit_breakers as JsonObject).thresholds as JsonObject[]), { priority: "HIGH", max_connections: 10 }] },
    });
    for (const c of clusters(push)) if (c.name !== name) expect(c).toEqual(clusterNamed(base, String(c.name)));
    expect(issuesOf(push, proxy)).toEqual([]);
  });

  it("ADD appends (context ANY: once, as outbound), REMOVE by name, inbound clusters matched by service", () => {
    const push = smallPush(
      envoyFilter(
        "clusters",
        "default",
        `configPatches:
  - applyTo: CLUSTER
    patch:
      operation: ADD
      value: { name: rate-limit-service, type: STRICT_DNS, connect_timeout: 1s, load_assignment: { cluster_name: rate-limit-service, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: ratelimit.example, port_value: 8081 } } } }] }] } }
  - applyTo: CLUSTER
    match: { cluster: { name: BlackHoleCluster } }
    patch: { operation: REMOVE }
  - applyTo: CLUSTER
    match: { context: SIDECAR_INBOUND, cluster: { service: productpage.default.svc.cluster.local } }
    patch: { operation: MERGE, value: { connect_timeout: 2s } }`,
      ),
    );
    const names = clusters(push).map((c) => c.name);
    expect(names.filter((n) => n === "rate-limit-service")).toHaveLength(1);
    expect(names).not.toContain("BlackHoleCluster");
    expect(clusterNamed(push, "inbound|9080||")!.connect_timeout).toBe("2s");
    expect(clusterNamed(push, `outbound|9080||${REVIEWS}`)).toEqual(clusterNamed(base, `outbound|9080||${REVIEWS}`));
  });
});

describe("GATEWAY", () => {
  const gateway = proxyOf({ type: "router", ip: "10.244.2.5", pod: "istio-ingressgateway-7d9c8b6f5-abcde", namespace: "istio-system", labels: { app: "istio-ingressgateway", istio: "ingressgateway" } });
  const bookinfo = loadSnapshot("bookinfo");

  it("a route configuration portNumber is the Gateway server port (80 matches http.8080); sidecar contexts leave gateways alone", () => {
    const patches = snapshotOf(
      envoyFilter(
        "gw-routes",
        "istio-system",
        `workloadSelector: { labels: { istio: ingressgateway } }
configPatches:
  - applyTo: ROUTE_CONFIGURATION
    match: { context: GATEWAY, routeConfiguration: { portNumber: 80 } }
    patch: { operation: MERGE, value: { response_headers_to_add: [{ header: { key: x-gw, value: "1" } }] } }
  - applyTo: ROUTE_CONFIGURATION
    match: { context: SIDECAR_OUTBOUND }
    patch: { operation: MERGE, value: { response_headers_to_add: [{ header: { key: x-sidecar, value: "1" } }] } }
  - applyTo: NETWORK_FILTER
    match: { context: GATEWAY, listener: { portNumber: 8080, filterChain: { filter: { name: envoy.filters.network.http_connection_manager } } } }
    patch:
      operation: MERGE
      value: { typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager, xff_num_trusted_hops: 1 } }`,
      ),
    );
    const builder = createPushContextBuilder();
    const push = builder.build({ objects: [...bookinfo.objects, ...patches.objects], errors: [] });
    const unpatched = builder.build(bookinfo);
    expect(patches.errors).toEqual([]);
    const rc = json(push, gateway, "RouteConfiguration").find((r) => r.name === "http.8080")!;
    expect(rc.response_headers_to_add).toEqual([{ header: { key: "x-gw", value: "1" } }]);
    const hcm = (l: JsonObject) => ((l.filter_chains as JsonObject[])[0].filters as JsonObject[])[0].typed_config as JsonObject;
    const listener = (p: typeof push) => json(p, gateway, "Listener").find((l) => l.name === "0.0.0.0_8080")!;
    expect(hcm(listener(push))).toEqual({ ...hcm(listener(unpatched)), xff_num_trusted_hops: 1 });
    expect(issuesOf(push, gateway)).toEqual([]);
  });
});
