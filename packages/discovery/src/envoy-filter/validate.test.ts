// Bad EnvoyFilters: each is refused with the field at fault and what to do,
// as istiod's webhook refuses it, and nothing else in the file is lost. A
// patch that only breaks once applied (an out-of-range port) is dropped by
// name at generation, the proxy keeps its config without it, and the other
// EnvoyFilters still apply.
import type { JsonObject } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { envoyFilter, hcms, httpFilterNames, issuesOf, ISTIO_LOCAL_RATE_LIMIT, listenerNamed } from "../test-util/envoy-filter-fixtures.js";
import { snapshotOf } from "../test-util/mesh-fixtures.js";
import { productpageProxy, smallPush, SMALL_MESH } from "../test-util/small-mesh.js";
import { createPushContextBuilder } from "../push-context/push-context.js";

const one = (patch: string) => envoyFilter("bad", "default", `configPatches:\n${patch}`);

describe("validation", () => {
  it.each([
    ["unknown applyTo", one(`  - applyTo: LISTENERS\n    patch: { operation: REMOVE }`), "spec.configPatches[0].applyTo", '"LISTENERS" is not one of LISTENER'],
    ["missing applyTo", one(`  - patch: { operation: REMOVE }`), "spec.configPatches[0].applyTo", "is required"],
    ["unknown operation", one(`  - applyTo: CLUSTER\n    patch: { operation: PATCH, value: {} }`), "spec.configPatches[0].patch.operation", '"PATCH" is not one of MERGE'],
    ["missing patch", one(`  - applyTo: CLUSTER`), "spec.configPatches[0].patch", "is required"],
    ["value not an object", one(`  - applyTo: CLUSTER\n    patch: { operation: MERGE, value: "connect_timeout: 1s" }`), "spec.configPatches[0].patch.value", "must be a map"],
    ["missing value", one(`  - applyTo: CLUSTER\n    patch: { operation: ADD }`), "spec.configPatches[0].patch.value", "is required for ADD"],
    ["unknown field in value", one(`  - applyTo: CLUSTER\n    patch: { operation: MERGE, value: { connect_timeout_ms: 5 } }`), "spec.configPatches[0].patch.value", "is not a valid envoy.config.cluster.v3.Cluster"],
    ["unknown @type", one(`  - applyTo: HTTP_FILTER\n    patch: { operation: ADD, value: { name: x, typed_config: { "@type": type.googleapis.com/envoy.config.filter.http.lua.v2.Lua } } }`), "spec.configPatches[0].patch.value", "use the v3 type"],
    ["a type Weft has no protos for", one(`  - applyTo: HTTP_FILTER\n    patch: { operation: ADD, value: { name: envoy.filters.http.lua, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua, default_source_code: { inline_string: "" } } } }`), "spec.configPatches[0].patch.value", "does not carry this extension's protos yet"],
    ["cluster match for HTTP_FILTER", one(`  - applyTo: HTTP_FILTER\n    match: { cluster: { service: a } }\n    patch: { operation: REMOVE }`), "spec.configPatches[0].match.cluster", "applyTo HTTP_FILTER needs a listener match"],
    ["listener match for CLUSTER", one(`  - applyTo: CLUSTER\n    match: { listener: { portNumber: 80 } }\n    patch: { operation: REMOVE }`), "spec.configPatches[0].match.listener", "applyTo CLUSTER needs a cluster match"],
    ["subFilter for NETWORK_FILTER", one(`  - applyTo: NETWORK_FILTER\n    match: { listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager, subFilter: { name: envoy.filters.http.router } } } } }\n    patch: { operation: REMOVE }`), "spec.configPatches[0].match.listener.filterChain.filter.subFilter", "HTTP_FILTER only"],
    ["subFilter under tcp_proxy", one(`  - applyTo: HTTP_FILTER\n    match: { listener: { filterChain: { filter: { name: envoy.filters.network.tcp_proxy, subFilter: { name: x } } } } }\n    patch: { operation: REMOVE }`), "spec.configPatches[0].match.listener.filterChain.filter.name", "requires the filter match to be envoy.filters.network.http_connection_manager"],
    ["bad proxyVersion regex", one(`  - applyTo: CLUSTER\n    match: { proxy: { proxyVersion: "1.(2" } }\n    patch: { operation: REMOVE }`), "spec.configPatches[0].match.proxy.proxyVersion", "does not compile"],
    ["unknown context", one(`  - applyTo: CLUSTER\n    match: { context: SIDECAR }\n    patch: { operation: REMOVE }`), "spec.configPatches[0].match.context", '"SIDECAR" is not one of ANY'],
    ["unknown filterClass", one(`  - applyTo: HTTP_FILTER\n    patch: { operation: ADD, filterClass: LAST, value: { name: envoy.filters.http.cors, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors } } }`), "spec.configPatches[0].patch.filterClass", '"LAST" is not one of'],
  ])("%s is a per-object error and nothing else is lost", (_what, yaml, field, reason) => {
    const snap = snapshotOf(`${SMALL_MESH}${yaml}${ISTIO_LOCAL_RATE_LIMIT}`);
    expect(snap.errors).toEqual([expect.objectContaining({ object: "EnvoyFilter default/bad", field, reason: expect.stringContaining(reason) })]);
    expect(snap.objects.filter((o) => o.kind === "EnvoyFilter").map((o) => o.metadata.name)).toEqual(["filter-local-ratelimit-svc"]);
    expect(snap.objects.filter((o) => o.kind === "Service")).toHaveLength(4);
  });

  it("EnvoyFilter is served in v1alpha3 only, as by Istio", () => {
    const snap = snapshotOf(ISTIO_LOCAL_RATE_LIMIT.replace("v1alpha3", "v1"));
    expect(snap.errors[0].reason).toContain("Weft reads EnvoyFilter in networking.istio.io/v1alpha3");
  });

  it("accepts the deprecated `config` form for a known filter name and for a MERGE", () => {
    const push = smallPush(
      one(`  - applyTo: HTTP_FILTER
    match: { context: SIDECAR_INBOUND, listener: { filterChain: { filter: { name: envoy.http_connection_manager, subFilter: { name: envoy.router } } } } }
    patch: { operation: INSERT_BEFORE, value: { name: envoy.filters.http.local_ratelimit, config: { stat_prefix: old_style } } }
  - applyTo: HTTP_FILTER
    match: { context: SIDECAR_INBOUND, listener: { filterChain: { filter: { name: envoy.http_connection_manager, subFilter: { name: envoy.router } } } } }
    patch: { operation: MERGE, value: { config: { suppress_envoy_headers: true } } }`),
    );
    expect(push.errors).toEqual([]);
    const filters = hcms(listenerNamed(push, productpageProxy(), "virtualInbound"))[0].http_filters as JsonObject[];
    expect(filters.at(-2)).toEqual({ name: "envoy.filters.http.local_ratelimit", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit", stat_prefix: "old_style" } });
    expect((filters.at(-1)!.typed_config as JsonObject).suppress_envoy_headers).toBe(true);
  });
});

describe("a patch that makes invalid Envoy config", () => {
  const breaking = envoyFilter(
    "bad-port",
    "default",
    `configPatches:
  - applyTo: LISTENER
    match: { context: SIDECAR_INBOUND, listener: { name: virtualInbound } }
    patch: { operation: MERGE, value: { address: { socket_address: { port_value: 70000 } } } }`,
  );

  it("is dropped by name; the proxy keeps its listener without it and the other EnvoyFilters still apply", () => {
    const builder = createPushContextBuilder();
    const push = builder.build(snapshotOf(`${SMALL_MESH}${breaking}${ISTIO_LOCAL_RATE_LIMIT}`));
    expect(push.errors).toEqual([]);
    const proxy = productpageProxy();
    const vi = listenerNamed(push, proxy, "virtualInbound");
    expect((vi.address as JsonObject).socket_address).toEqual({ address: "0.0.0.0", port_value: 15006 });
    expect(httpFilterNames(hcms(vi)[0])[0]).toBe("envoy.filters.http.local_ratelimit");
    expect(issuesOf(push, proxy)).toEqual([]);
    expect(push.runtimeErrors).toEqual([
      expect.objectContaining({ object: "EnvoyFilter default/bad-port", reason: expect.stringMatching(/^EnvoyFilter default\/bad-port is not applied: listener virtualInbound: address.socket_address.port_value: .*65535.*keep their config without it/) }),
    ]);
    expect((push.configJson() as { errors: unknown[] }).errors).toHaveLength(1);
  });

  it("a deprecated config that does not fit the filter it merges into is refused the same way", () => {
    const push = smallPush(
      one(`  - applyTo: HTTP_FILTER
    match: { context: SIDECAR_INBOUND, listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager, subFilter: { name: envoy.filters.http.router } } } } }
    patch: { operation: MERGE, value: { config: { no_such_field: true } } }`),
    );
    expect(push.errors).toEqual([]);
    const proxy = productpageProxy();
    expect(listenerNamed(push, proxy, "virtualInbound")).toEqual(listenerNamed(smallPush(), proxy, "virtualInbound"));
    expect(push.runtimeErrors[0].reason).toMatch(/^EnvoyFilter default\/bad is not applied: .*no_such_field/);
  });

  it("an ADD without a name is refused the same way", () => {
    const push = smallPush(
      envoyFilter(
        "nameless",
        "default",
        `configPatches:
  - applyTo: CLUSTER
    patch: { operation: ADD, value: { connect_timeout: 1s } }`,
      ),
    );
    const names = (p: typeof push) => issuesOf(p, productpageProxy());
    expect(names(push)).toEqual([]);
    expect(push.runtimeErrors[0].reason).toContain("it yields a cluster without a name");
  });
});
