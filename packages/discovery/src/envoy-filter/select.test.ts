// Which EnvoyFilters reach a proxy and in what order (istiod's
// PushContext.EnvoyFilters): root namespace for everyone, a namespace for its
// own proxies, workloadSelector, priority then root first then creation time
// then name; match.proxy against node metadata, and what is reported.
import type { JsonObject } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { envoyFilter, hcms, httpFilterNames, listenerNamed } from "../test-util/envoy-filter-fixtures.js";
import { proxyOf } from "../test-util/mesh-fixtures.js";
import { productpageProxy, smallPush } from "../test-util/small-mesh.js";

const proxy = productpageProxy();

/** An EnvoyFilter that appends an HTTP filter named `marker` to every inbound HCM. */
function marker(name: string, namespace: string, extra = "", match = ""): string {
  return envoyFilter(
    name,
    namespace,
    `${extra}configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_INBOUND
      listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager } } }${match}
    patch:
      operation: ADD
      value:
        name: ${name}
        typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit, stat_prefix: ${name} }`,
  );
}

const markers = (push: ReturnType<typeof smallPush>, p = proxy): string[] =>
  httpFilterNames(hcms(listenerNamed(push, p, "virtualInbound"))[0]).filter((n) => !n.startsWith("envoy.") && !n.startsWith("istio."));

describe("scope", () => {
  it("root namespace applies to every proxy, a namespace only to its own, workloadSelector narrows", () => {
    const push = smallPush(
      marker("root", "istio-system") +
        marker("own", "default") +
        marker("elsewhere", "other") +
        marker("for-reviews", "default", "workloadSelector: { labels: { app: reviews } }\n") +
        marker("for-productpage-v1", "default", "workloadSelector: { labels: { app: productpage, version: v1 } }\n"),
    );
    expect(markers(push)).toEqual(["root", "for-productpage-v1", "own"]);
    expect(markers(push, productpageProxy({ app: "productpage", version: "v2" }))).toEqual(["root", "own"]);
  });
});

describe("order", () => {
  it("priority first, then the root namespace, then creation time, then name", () => {
    const yaml = [
      marker("b-late", "default").replace("metadata: { name: b-late, namespace: default }", "metadata: { name: b-late, namespace: default, creationTimestamp: '2024-01-02T00:00:00Z' }"),
      marker("a-late", "default").replace("metadata: { name: a-late, namespace: default }", "metadata: { name: a-late, namespace: default, creationTimestamp: '2024-01-02T00:00:00Z' }"),
      marker("early", "default").replace("metadata: { name: early, namespace: default }", "metadata: { name: early, namespace: default, creationTimestamp: '2024-01-01T00:00:00Z' }"),
      marker("root-late", "istio-system").replace("metadata: { name: root-late, namespace: istio-system }", "metadata: { name: root-late, namespace: istio-system, creationTimestamp: '2025-01-01T00:00:00Z' }"),
      marker("high", "istio-system", "priority: 10\n"),
      marker("low", "default", "priority: -5\n"),
    ].join("");
    expect(markers(smallPush(yaml))).toEqual(["low", "root-late", "early", "a-late", "b-late", "high"]);
  });
});

describe("match.proxy", () => {
  const versioned = (version?: string, extra: JsonObject = {}) =>
    proxyOf({ ip: "10.1.0.6", pod: "productpage-v1", namespace: "default", labels: { app: "productpage", version: "v1" }, extra: { ...(version ? { ISTIO_VERSION: version } : {}), ...extra } });

  it("proxyVersion is a regex on ISTIO_VERSION (no version: no match); metadata values must be equal; the config key tells them apart", () => {
    const push = smallPush(marker("new-proxies", "istio-system", "", "\n      proxy: { proxyVersion: '^1\\.2[0-9].*' }") + marker("canary", "istio-system", "", "\n      proxy: { metadata: { TRACK: canary } }"));
    expect(push.errors).toEqual([]);
    expect(markers(push, versioned("1.24.2"))).toEqual(["new-proxies"]);
    expect(markers(push, versioned("1.19.0"))).toEqual([]);
    expect(markers(push, versioned())).toEqual([]);
    expect(markers(push, versioned("1.24.2", { TRACK: "canary" }))).toEqual(["canary", "new-proxies"]); // same priority and age: by name
    expect(push.configKey(versioned("1.24.2"))).not.toBe(push.configKey(versioned("1.19.0")));
    expect(push.configKey(versioned("1.19.0"))).toBe(push.configKey(versioned()));
  });
});

describe("what is reported, not applied", () => {
  it("targetRefs: reported, and the EnvoyFilter applies to no proxy (as istiod)", () => {
    const push = smallPush(marker("by-ref", "default", "targetRefs: [{ kind: Service, group: '', name: productpage }]\n"));
    expect(markers(push)).toEqual([]);
    expect(push.errors).toEqual([expect.objectContaining({ object: "EnvoyFilter default/by-ref", field: "spec.targetRefs", reason: expect.stringContaining("targetRefs is not supported") })]);
  });

  it("EXTENSION_CONFIG, BOOTSTRAP: that patch is reported and skipped, the others apply", () => {
    const yaml = marker("mixed", "default").replace(
      "configPatches:\n",
      `configPatches:
  - applyTo: EXTENSION_CONFIG
    patch: { operation: ADD, value: { name: my-wasm } }
  - applyTo: BOOTSTRAP
    patch: { operation: MERGE, value: { stats_flush_interval: 5s } }
`.replace(/\n {2}/g, "\n    ").replace(/^ {2}/, "    "),
    );
    const push = smallPush(yaml);
    expect(markers(push)).toEqual(["mixed"]);
    expect(push.errors.map((e) => [e.field, e.reason.split(";")[0]])).toEqual([
      ["spec.configPatches[0].applyTo", "applyTo EXTENSION_CONFIG is not supported by Weft yet"],
      ["spec.configPatches[1].applyTo", "applyTo BOOTSTRAP is not supported by Weft yet"],
    ]);
  });
});
