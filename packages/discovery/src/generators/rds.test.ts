import type { JsonObject } from "@bufbuild/protobuf";
import { TypeUrl } from "@weft/xds-api";
import { describe, expect, it } from "vitest";
import { generate, proxyOf, validationIssues } from "../test-util/mesh-fixtures.js";
import { json, productpageProxy, smallPush, vhostRoutes } from "../test-util/small-mesh.js";

const REVIEWS = "reviews.default.svc.cluster.local:9080";
const vs = (http: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
${http}`;

function routesFor(http: string, labels?: Record<string, string>): JsonObject[] {
  const push = smallPush(vs(http));
  const proxy = productpageProxy(labels);
  expect(validationIssues(generate(push, proxy, TypeUrl.RouteConfiguration))).toEqual([]);
  return vhostRoutes(push, proxy, "9080", REVIEWS);
}

describe("RDS for sidecars", () => {
  it("names route configs by port with one virtual host per HTTP service and allow_any", () => {
    const push = smallPush();
    const rcs = json(push, productpageProxy(), "RouteConfiguration");
    expect(rcs.map((r) => r.name)).toEqual(["7070", "9080"]); // ratings' grpc port is HTTP/2: routed too
    const hosts = (rcs[1].virtual_hosts as JsonObject[]).map((v) => v.name);
    expect(hosts).toEqual(["productpage.default.svc.cluster.local:9080", REVIEWS, "allow_any"]);
  });

  it("returns only the subscribed route configs", () => {
    const push = smallPush();
    expect(generate(push, productpageProxy(), TypeUrl.RouteConfiguration, ["7070"]).map((r) => r.name)).toEqual(["7070"]);
    expect(generate(push, productpageProxy(), TypeUrl.RouteConfiguration, ["1234"])).toEqual([]);
  });

  it("lists Istio's domains, short names only in the proxy's own namespace", () => {
    const push = smallPush();
    const own = (json(push, productpageProxy(), "RouteConfiguration", ["9080"])[0].virtual_hosts as JsonObject[]).find((v) => v.name === REVIEWS)!;
    expect(own.domains).toEqual([
      "reviews.default.svc.cluster.local",
      "reviews.default.svc.cluster.local:9080",
      "reviews",
      "reviews:9080",
      "reviews.default.svc",
      "reviews.default.svc:9080",
      "reviews.default",
      "reviews.default:9080",
      "10.96.0.10",
      "10.96.0.10:9080",
    ]);
    const other = (json(push, proxyOf({ ip: "10.2.0.1", pod: "sleep", namespace: "other" }), "RouteConfiguration", ["9080"])[0].virtual_hosts as JsonObject[]).find((v) => v.name === REVIEWS)!;
    expect(other.domains).not.toContain("reviews");
    expect(other.domains).toContain("reviews.default");
  });

  it("gives a service without a VirtualService the `default` route with Istio's retry policy", () => {
    const routes = vhostRoutes(smallPush(), productpageProxy(), "9080", REVIEWS);
    expect(routes).toEqual([
      {
        name: "default",
        match: { prefix: "/" },
        route: {
          cluster: "outbound|9080||reviews.default.svc.cluster.local",
          timeout: "0s",
          retry_policy: {
            retry_on: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
            num_retries: 2,
            retry_host_predicate: [{ name: "envoy.retry_host_predicates.previous_hosts" }],
            host_selection_retry_max_attempts: "5",
            retriable_status_codes: [503],
          },
          max_stream_duration: { max_stream_duration: "0s", grpc_timeout_header_max: "0s" },
        },
        decorator: { operation: "reviews.default.svc.cluster.local:9080/*" },
      },
    ]);
  });

  it("translates weighted destinations to subsets", () => {
    const [r] = routesFor(`  - route:
    - { destination: { host: reviews, subset: v1 }, weight: 80 }
    - { destination: { host: reviews, subset: v3 }, weight: 20 }`);
    expect((r.route as JsonObject).weighted_clusters).toEqual({
      clusters: [
        { name: "outbound|9080|v1|reviews.default.svc.cluster.local", weight: 80 },
        { name: "outbound|9080|v3|reviews.default.svc.cluster.local", weight: 20 },
      ],
    });
  });

  it("translates uri, headers, query params, method, authority and withoutHeaders matches, one route per match", () => {
    const routes = routesFor(`  - name: canary
    match:
    - name: jason
      uri: { prefix: /api }
      ignoreUriCase: true
      headers: { end-user: { exact: jason }, x-any: {} }
      queryParams: { debug: { regex: "^(1|true)$" } }
      method: { exact: GET }
      authority: { prefix: reviews }
      withoutHeaders: { x-skip: { exact: "1" } }
    - uri: { regex: "^/v[0-9]+/.*" }
    route:
    - destination: { host: reviews, subset: v2 }`);
    expect(routes).toHaveLength(2);
    expect(routes[0].name).toBe("canary.jason");
    expect(routes[0].match).toEqual({
      prefix: "/api",
      case_sensitive: false,
      headers: [
        { name: ":method", string_match: { exact: "GET" } },
        { name: ":authority", string_match: { prefix: "reviews" } },
        { name: "end-user", string_match: { exact: "jason" } },
        { name: "x-any", present_match: true },
        { name: "x-skip", string_match: { exact: "1" }, invert_match: true },
      ],
      query_parameters: [{ name: "debug", string_match: { safe_regex: { regex: "^(1|true)$" } } }],
    });
    expect(routes[1].match).toEqual({ safe_regex: { regex: "^/v[0-9]+/.*" }, case_sensitive: true });
  });

  it("keeps a sourceLabels match only for proxies whose labels match", () => {
    const http = `  - match: [{ sourceLabels: { app: productpage, version: v2 } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - route: [{ destination: { host: reviews, subset: v1 } }]`;
    expect(routesFor(http).map((r) => (r.route as JsonObject).cluster)).toEqual(["outbound|9080|v1|reviews.default.svc.cluster.local"]);
    expect(routesFor(http, { app: "productpage", version: "v2" }).map((r) => (r.route as JsonObject).cluster)).toEqual([
      "outbound|9080|v2|reviews.default.svc.cluster.local",
      "outbound|9080|v1|reviews.default.svc.cluster.local",
    ]);
  });

  it("translates timeout, retries, fault, rewrite, headers, mirror and CORS", () => {
    const [r] = routesFor(`  - timeout: 5s
    retries: { attempts: 3, perTryTimeout: 2s, retryOn: "gateway-error,connect-failure,503" }
    fault:
      delay: { fixedDelay: 7s, percentage: { value: 10 } }
      abort: { httpStatus: 500, percentage: { value: 0.5 } }
    rewrite: { uri: /v2/, authority: reviews-v2 }
    headers:
      request: { set: { x-a: "1" }, add: { x-b: "2" }, remove: [x-c] }
      response: { remove: [server] }
    mirror: { host: reviews, subset: v3 }
    mirrorPercentage: { value: 25 }
    corsPolicy:
      allowOrigins: [{ exact: "https://example.com" }]
      allowMethods: [GET, POST]
      allowHeaders: [x-a]
      maxAge: 24h
      allowCredentials: true
    route:
    - destination: { host: reviews, subset: v1 }`);
    const action = r.route as JsonObject;
    expect(action.timeout).toBe("5s");
    expect(action.max_stream_duration).toEqual({ max_stream_duration: "5s", grpc_timeout_header_max: "5s" });
    expect(action.retry_policy).toEqual({
      retry_on: "gateway-error,connect-failure,retriable-status-codes",
      num_retries: 3,
      per_try_timeout: "2s",
      retry_host_predicate: [{ name: "envoy.retry_host_predicates.previous_hosts" }],
      host_selection_retry_max_attempts: "5",
      retriable_status_codes: [503],
    });
    expect(action.prefix_rewrite).toBe("/v2/");
    expect(action.host_rewrite_literal).toBe("reviews-v2");
    expect(action.request_mirror_policies).toEqual([{ cluster: "outbound|9080|v3|reviews.default.svc.cluster.local", runtime_fraction: { default_value: { numerator: 250000, denominator: "MILLION" } } }]);
    expect(r.request_headers_to_add).toEqual([
      { header: { key: "x-a", value: "1" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" },
      // APPEND_IF_EXISTS_OR_ADD is the enum's zero value, so proto3 JSON leaves it out.
      { header: { key: "x-b", value: "2" } },
    ]);
    expect(r.request_headers_to_remove).toEqual(["x-c"]);
    expect(r.response_headers_to_remove).toEqual(["server"]);
    const perFilter = r.typed_per_filter_config as JsonObject;
    expect(perFilter["envoy.filters.http.fault"]).toEqual({
      "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
      delay: { fixed_delay: "7s", percentage: { numerator: 100000, denominator: "MILLION" } },
      abort: { http_status: 500, percentage: { numerator: 5000, denominator: "MILLION" } },
    });
    expect(perFilter["envoy.filters.http.cors"]).toEqual({
      "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
      allow_origin_string_match: [{ exact: "https://example.com" }],
      allow_methods: "GET,POST",
      allow_headers: "x-a",
      max_age: "86400",
      allow_credentials: true,
    });
  });

  it("mirrors as istiod: `mirrors` after `mirror`, an unset percentage is 100 %, one not above 0 is left out, the deprecated mirrorPercent counts", () => {
    const mirrorOf = (http: string) => (routesFor(http)[0].route as JsonObject).request_mirror_policies;
    const v = (subset: string) => `outbound|9080|${subset}|reviews.default.svc.cluster.local`;
    expect(
      mirrorOf(`  - mirrors:
    - destination: { host: reviews, subset: v2 }
    - destination: { host: reviews, subset: v3 }
      percentage: { value: 12.5 }
    - destination: { host: reviews, subset: v1 }
      percentage: { value: 0 }
    route: [{ destination: { host: reviews, subset: v1 } }]`),
    ).toEqual([
      // HUNDRED is the enum's zero value: proto3 JSON leaves it out.
      { cluster: v("v2"), runtime_fraction: { default_value: { numerator: 100 } } },
      { cluster: v("v3"), runtime_fraction: { default_value: { numerator: 125000, denominator: "MILLION" } } },
    ]);
    expect(mirrorOf(`  - mirror: { host: reviews, subset: v3 }\n    mirrorPercent: 30\n    route: [{ destination: { host: reviews, subset: v1 } }]`)).toEqual([
      { cluster: v("v3"), runtime_fraction: { default_value: { numerator: 30 } } },
    ]);
    expect(mirrorOf(`  - mirror: { host: reviews, subset: v3 }\n    mirrorPercentage: { value: 0 }\n    route: [{ destination: { host: reviews, subset: v1 } }]`)).toBeUndefined();
  });

  it("disables retries with attempts 0, and translates redirect and directResponse", () => {
    const routes = routesFor(`  - match: [{ uri: { exact: /old } }]
    redirect: { uri: /new, authority: example.com, redirectCode: 302 }
  - match: [{ uri: { exact: /teapot } }]
    directResponse: { status: 418, body: { string: "short and stout" } }
  - retries: { attempts: 0 }
    route: [{ destination: { host: reviews } }]`);
    expect(routes[0].redirect).toEqual({ path_redirect: "/new", host_redirect: "example.com", response_code: "FOUND" });
    expect(routes[1].direct_response).toEqual({ status: 418, body: { inline_string: "short and stout" } });
    expect((routes[2].route as JsonObject).retry_policy).toBeUndefined();
  });

  it("adds a hash policy for a consistentHash DestinationRule", () => {
    const push = smallPush(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: productpage, namespace: default }
spec:
  host: productpage
  trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: user, ttl: 60s } } } }
`);
    const [r] = vhostRoutes(push, productpageProxy(), "9080", "productpage.default.svc.cluster.local:9080");
    expect((r.route as JsonObject).hash_policy).toEqual([{ cookie: { name: "user", ttl: "60s" } }]);
  });

  it("serves block_all under REGISTRY_ONLY", () => {
    const push = smallPush(`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: default }
spec: { outboundTrafficPolicy: { mode: REGISTRY_ONLY } }
`);
    const hosts = json(push, productpageProxy(), "RouteConfiguration", ["9080"])[0].virtual_hosts as JsonObject[];
    expect(hosts.at(-1)).toMatchObject({ name: "block_all", domains: ["*"], routes: [{ direct_response: { status: 502 } }] });
  });
});
