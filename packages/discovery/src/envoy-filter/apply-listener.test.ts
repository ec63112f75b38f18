// LISTENER, FILTER_CHAIN, NETWORK_FILTER and HTTP_FILTER patches on a
// productpage sidecar of the small mesh, compared with what istiod generates
// for the same EnvoyFilter (pilot/pkg/networking/core/envoyfilter).
import type { JsonObject } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { envoyFilter, hcms, httpFilterNames, issuesOf, ISTIO_LOCAL_RATE_LIMIT, listenerNamed, listeners } from "../test-util/envoy-filter-fixtures.js";
import { productpageProxy, smallPush } from "../test-util/small-mesh.js";

const proxy = productpageProxy();
const base = smallPush();
const inboundBase = httpFilterNames(hcms(listenerNamed(base, proxy, "virtualInbound"))[0]);
const outboundBase = httpFilterNames(hcms(listenerNamed(base, proxy, "0.0.0.0_9080"))[0]);

const LOCAL_RATE_LIMIT_VALUE = `name: envoy.filters.http.local_ratelimit
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
          stat_prefix: http_local_rate_limiter
          token_bucket: { max_tokens: 10, tokens_per_fill: 10, fill_interval: 1s }`;

function httpFilterPatch(operation: string, subFilter = "", context = "SIDECAR_INBOUND", value = LOCAL_RATE_LIMIT_VALUE): string {
  return envoyFilter(
    "http-filter",
    "default",
    `configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: ${context}
      listener:
        filterChain:
          filter:
            name: envoy.filters.network.http_connection_manager${subFilter ? `\n            subFilter: { name: ${subFilter} }` : ""}
    patch:
      operation: ${operation}
      value:
        ${value}`,
  );
}

describe("HTTP_FILTER", () => {
  it("applies Istio's documented local rate limit: first filter of every inbound HCM, TypedStruct unwrapped, outbound untouched", () => {
    const push = smallPush(ISTIO_LOCAL_RATE_LIMIT);
    expect(push.errors).toEqual([]);
    const inbound = hcms(listenerNamed(push, proxy, "virtualInbound"));
    expect(inbound.length).toBeGreaterThan(1);
    for (const hcm of inbound) expect(httpFilterNames(hcm)).toEqual(["envoy.filters.http.local_ratelimit", ...inboundBase]);
    expect((inbound[0].http_filters as JsonObject[])[0]).toEqual({
      name: "envoy.filters.http.local_ratelimit",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        stat_prefix: "http_local_rate_limiter",
        token_bucket: { max_tokens: 4, tokens_per_fill: 4, fill_interval: "60s" },
        filter_enabled: { runtime_key: "local_rate_limit_enabled", default_value: { numerator: 100 } },
        filter_enforced: { runtime_key: "local_rate_limit_enforced", default_value: { numerator: 100 } },
        response_headers_to_add: [{ append: false, header: { key: "x-local-rate-limit", value: "true" } }],
      },
    });
    expect(httpFilterNames(hcms(listenerNamed(push, proxy, "0.0.0.0_9080"))[0])).toEqual(outboundBase);
    expect(issuesOf(push, proxy)).toEqual([]);
  });

  it("does not apply to a workload the selector does not pick", () => {
    const push = smallPush(ISTIO_LOCAL_RATE_LIMIT);
    const reviews = productpageProxy({ app: "reviews", version: "v1" });
    expect(listeners(push, reviews)).toEqual(listeners(base, reviews));
  });

  it.each([
    ["INSERT_BEFORE", "envoy.filters.http.router", (b: string[]) => [...b.slice(0, -1), "envoy.filters.http.local_ratelimit", b.at(-1)!]],
    ["INSERT_AFTER", "envoy.filters.http.fault", (b: string[]) => { const i = b.indexOf("envoy.filters.http.fault"); return [...b.slice(0, i + 1), "envoy.filters.http.local_ratelimit", ...b.slice(i + 1)]; }],
    ["INSERT_FIRST", "envoy.filters.http.router", (b: string[]) => ["envoy.filters.http.local_ratelimit", ...b]],
    // istiod appends: after the router, where Envoy never runs it. Documented; use INSERT_BEFORE router.
    ["ADD", "", (b: string[]) => [...b, "envoy.filters.http.local_ratelimit"]],
    ["INSERT_AFTER", "", (b: string[]) => [...b, "envoy.filters.http.local_ratelimit"]],
    ["INSERT_BEFORE", "no.such.filter", (b: string[]) => b],
    ["REPLACE", "envoy.filters.http.cors", (b: string[]) => b.map((n) => (n === "envoy.filters.http.cors" ? "envoy.filters.http.local_ratelimit" : n))],
    ["REPLACE", "", (b: string[]) => b],
  ])("%s relative to %j places the filter as istiod does", (operation, subFilter, expected) => {
    const push = smallPush(httpFilterPatch(operation, subFilter));
    for (const hcm of hcms(listenerNamed(push, proxy, "virtualInbound"))) expect(httpFilterNames(hcm)).toEqual(expected(inboundBase));
    expect(issuesOf(push, proxy)).toEqual([]);
  });

  it("REMOVE drops the named filter, on outbound listeners for SIDECAR_OUTBOUND", () => {
    const push = smallPush(
      envoyFilter(
        "no-cors",
        "default",
        `configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_OUTBOUND
      listener: { filterChain: { filter: { name: envoy.http_connection_manager, subFilter: { name: envoy.cors } } } }
    patch: { operation: REMOVE }`,
      ),
    );
    expect(httpFilterNames(hcms(listenerNamed(push, proxy, "0.0.0.0_9080"))[0])).toEqual(outboundBase.filter((n) => n !== "envoy.filters.http.cors"));
    expect(httpFilterNames(hcms(listenerNamed(push, proxy, "virtualInbound"))[0])).toEqual(inboundBase);
  });

  it("MERGE merges the named filter's typed_config field-wise", () => {
    const push = smallPush(
      httpFilterPatch(
        "MERGE",
        "envoy.filters.http.router",
        "SIDECAR_INBOUND",
        `typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router, suppress_envoy_headers: true }`,
      ),
    );
    const router = (hcms(listenerNamed(push, proxy, "virtualInbound"))[0].http_filters as JsonObject[]).at(-1);
    expect(router).toEqual({ name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router", suppress_envoy_headers: true } });
  });
});

describe("NETWORK_FILTER", () => {
  it("MERGE on the inbound HCM sets common_http_protocol_options.idle_timeout and keeps everything else", () => {
    const push = smallPush(
      envoyFilter(
        "idle-timeout",
        "default",
        `workloadSelector: { labels: { app: productpage } }
configPatches:
  - applyTo: NETWORK_FILTER
    match:
      context: SIDECAR_INBOUND
      listener:
        filterChain:
          filter: { name: envoy.filters.network.http_connection_manager }
    patch:
      operation: MERGE
      value:
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          common_http_protocol_options: { idle_timeout: 30s }`,
      ),
    );
    const before = hcms(listenerNamed(base, proxy, "virtualInbound"));
    const after = hcms(listenerNamed(push, proxy, "virtualInbound"));
    expect(after).toEqual(before.map((h) => ({ ...h, common_http_protocol_options: { idle_timeout: "30s" } })));
    expect(hcms(listenerNamed(push, proxy, "0.0.0.0_9080"))).toEqual(hcms(listenerNamed(base, proxy, "0.0.0.0_9080")));
    expect(issuesOf(push, proxy)).toEqual([]);
  });

  it("INSERT_BEFORE tcp_proxy on the mongo listener only (listener portNumber)", () => {
    const push = smallPush(
      envoyFilter(
        "mongo-rbac",
        "default",
        `configPatches:
  - applyTo: NETWORK_FILTER
    match:
      context: SIDECAR_OUTBOUND
      listener: { portNumber: 27017, filterChain: { filter: { name: envoy.filters.network.tcp_proxy } } }
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.network.rbac
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC
          stat_prefix: tcp.mongo`,
      ),
    );
    const names = (l: JsonObject) => ((l.filter_chains as JsonObject[])[0].filters as JsonObject[]).map((f) => f.name);
    const mongo = listeners(push, proxy).find((l) => String(l.name).endsWith("_27017"))!;
    const mongoBase = listeners(base, proxy).find((l) => String(l.name).endsWith("_27017"))!;
    const expected = [...names(mongoBase)];
    expected.splice(expected.indexOf("envoy.filters.network.tcp_proxy"), 0, "envoy.filters.network.rbac");
    expect(names(mongo)).toEqual(expected);
    expect(listenerNamed(push, proxy, "virtualOutbound")).toEqual(listenerNamed(base, proxy, "virtualOutbound"));
    expect(issuesOf(push, proxy)).toEqual([]);
  });
});

describe("FILTER_CHAIN", () => {
  it("on virtualInbound, portNumber selects chains by destination_port; REMOVE drops them", () => {
    const push = smallPush(
      envoyFilter(
        "drop-9080",
        "default",
        `configPatches:
  - applyTo: FILTER_CHAIN
    match: { context: SIDECAR_INBOUND, listener: { portNumber: 9080 } }
    patch: { operation: REMOVE }`,
      ),
    );
    const chains = (l: JsonObject) => (l.filter_chains as JsonObject[]).map((c) => c.name);
    expect(chains(listenerNamed(push, proxy, "virtualInbound"))).toEqual(chains(listenerNamed(base, proxy, "virtualInbound")).filter((n) => n !== "0.0.0.0_9080"));
  });

  it("MERGE and ADD by chain name", () => {
    const push = smallPush(
      envoyFilter(
        "chains",
        "default",
        `configPatches:
  - applyTo: FILTER_CHAIN
    match: { context: SIDECAR_OUTBOUND, listener: { name: virtualOutbound, filterChain: { name: virtualOutbound-catchall-tcp } } }
    patch: { operation: MERGE, value: { transport_socket_connect_timeout: 2s } }
  - applyTo: FILTER_CHAIN
    match: { context: SIDECAR_OUTBOUND, listener: { name: virtualOutbound } }
    patch:
      operation: ADD
      value:
        name: extra
        filter_chain_match: { destination_port: 8443 }
        filters: [{ name: envoy.filters.network.tcp_proxy, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: extra, cluster: BlackHoleCluster } }]`,
      ),
    );
    const vo = listenerNamed(push, proxy, "virtualOutbound").filter_chains as JsonObject[];
    const voBase = listenerNamed(base, proxy, "virtualOutbound").filter_chains as JsonObject[];
    expect(vo.map((c) => c.name)).toEqual([...voBase.map((c) => c.name), "extra"]);
    expect(vo.find((c) => c.name === "virtualOutbound-catchall-tcp")!.transport_socket_connect_timeout).toBe("2s");
    expect(vo.find((c) => c.name === "virtualOutbound-blackhole")!.transport_socket_connect_timeout).toBeUndefined();
    expect(issuesOf(push, proxy)).toEqual([]);
  });
});

describe("LISTENER_FILTER", () => {
  it("INSERT_BEFORE, REPLACE and REMOVE relative to the named listener filter (deprecated names too)", () => {
    const push = smallPush(
      envoyFilter(
        "listener-filters",
        "default",
        `configPatches:
  - applyTo: LISTENER_FILTER
    match: { context: SIDECAR_INBOUND, listener: { name: virtualInbound, listenerFilter: envoy.listener.tls_inspector } }
    patch:
      operation: INSERT_BEFORE
      value: { name: early.original_dst, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst } }
  - applyTo: LISTENER_FILTER
    match: { context: SIDECAR_INBOUND, listener: { listenerFilter: envoy.filters.listener.http_inspector } }
    patch: { operation: REMOVE }`,
      ),
    );
    const names = (p: ReturnType<typeof smallPush>) => (listenerNamed(p, proxy, "virtualInbound").listener_filters as JsonObject[]).map((f) => f.name);
    const expected = names(base).filter((n) => n !== "envoy.filters.listener.http_inspector");
    expected.splice(expected.indexOf("envoy.filters.listener.tls_inspector"), 0, "early.original_dst");
    expect(names(push)).toEqual(expected);
    expect(issuesOf(push, proxy)).toEqual([]);
  });
});

describe("LISTENER", () => {
  it("ADD, REMOVE and MERGE", () => {
    const push = smallPush(
      envoyFilter(
        "listeners",
        "default",
        `configPatches:
  - applyTo: LISTENER
    match: { context: SIDECAR_OUTBOUND }
    patch:
      operation: ADD
      value:
        name: extra_8888
        address: { socket_address: { address: 0.0.0.0, port_value: 8888 } }
        filter_chains: [{ filters: [{ name: envoy.filters.network.tcp_proxy, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: x, cluster: PassthroughCluster } }] }]
  - applyTo: LISTENER
    match: { listener: { portNumber: 27017 } }
    patch: { operation: REMOVE }
  - applyTo: LISTENER
    match: { context: SIDECAR_INBOUND, listener: { name: virtualInbound } }
    patch: { operation: MERGE, value: { per_connection_buffer_limit_bytes: 32768 } }`,
      ),
    );
    const names = listeners(push, proxy).map((l) => l.name);
    expect(names).toContain("extra_8888");
    expect(names.some((n) => String(n).endsWith("_27017"))).toBe(false);
    expect(listenerNamed(push, proxy, "virtualInbound")).toEqual({ ...listenerNamed(base, proxy, "virtualInbound"), per_connection_buffer_limit_bytes: 32768 });
    expect(issuesOf(push, proxy)).toEqual([]);
  });

  it("an ADD with context ANY adds to outbound, not once more as inbound", () => {
    const push = smallPush(
      envoyFilter(
        "any-add",
        "default",
        `configPatches:
  - applyTo: LISTENER
    patch:
      operation: ADD
      value: { name: extra_8888, address: { socket_address: { address: 0.0.0.0, port_value: 8888 } } }`,
      ),
    );
    expect(listeners(push, proxy).filter((l) => l.name === "extra_8888")).toHaveLength(1);
  });

  it("GATEWAY patches apply to router proxies only", () => {
    const push = smallPush(
      envoyFilter(
        "gw",
        "istio-system",
        `configPatches:
  - applyTo: LISTENER
    match: { context: GATEWAY, listener: { name: virtualInbound } }
    patch: { operation: MERGE, value: { per_connection_buffer_limit_bytes: 1 } }`,
      ),
    );
    expect(listenerNamed(push, proxy, "virtualInbound")).toEqual(listenerNamed(base, proxy, "virtualInbound"));
  });
});
