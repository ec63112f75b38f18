// EnvoyFilter test fixtures: an EnvoyFilter in YAML, Istio's documented local
// rate limit one ("Enabling Rate Limits using Envoy", local rate limit task),
// and readers for the parts of generated listeners the tests look at.
import type { JsonObject } from "@bufbuild/protobuf";
import type { ProxyInfo } from "../contracts.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { allResources, validationIssues } from "./mesh-fixtures.js";
import { json } from "./small-mesh.js";

export function envoyFilter(name: string, namespace: string, spec: string): string {
  return `---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${spec
  .split("\n")
  .map((l) => `  ${l}`)
  .join("\n")}
`;
}

/** Istio's task, verbatim but for the selector: INSERT_BEFORE with no subFilter (so first), a udpa TypedStruct value. */
export const ISTIO_LOCAL_RATE_LIMIT = envoyFilter(
  "filter-local-ratelimit-svc",
  "istio-system",
  `workloadSelector:
  labels:
    app: productpage
configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_INBOUND
      listener:
        filterChain:
          filter:
            name: "envoy.filters.network.http_connection_manager"
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.local_ratelimit
        typed_config:
          "@type": type.googleapis.com/udpa.type.v1.TypedStruct
          type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
          value:
            stat_prefix: http_local_rate_limiter
            token_bucket:
              max_tokens: 4
              tokens_per_fill: 4
              fill_interval: 60s
            filter_enabled:
              runtime_key: local_rate_limit_enabled
              default_value:
                numerator: 100
                denominator: HUNDRED
            filter_enforced:
              runtime_key: local_rate_limit_enforced
              default_value:
                numerator: 100
                denominator: HUNDRED
            response_headers_to_add:
              - append: false
                header:
                  key: x-local-rate-limit
                  value: 'true'`,
);

export const listeners = (push: MeshPushContext, proxy: ProxyInfo): JsonObject[] => json(push, proxy, "Listener");

export function listenerNamed(push: MeshPushContext, proxy: ProxyInfo, name: string): JsonObject {
  const l = listeners(push, proxy).find((x) => x.name === name);
  if (!l) throw new Error(`no listener ${name}`);
  return l;
}

/** Every HTTP connection manager config in a listener, in chain order. */
export function hcms(listener: JsonObject): JsonObject[] {
  return (listener.filter_chains as JsonObject[])
    .flatMap((fc) => fc.filters as JsonObject[])
    .filter((f) => f.name === "envoy.filters.network.http_connection_manager")
    .map((f) => f.typed_config as JsonObject);
}

export const httpFilterNames = (hcm: JsonObject): string[] => (hcm.http_filters as JsonObject[]).map((f) => String(f.name));

/** PGV issues of everything generated for the proxy (empty when Envoy would take it all). */
export const issuesOf = (push: MeshPushContext, proxy: ProxyInfo): string[] => validationIssues(allResources(push, proxy));
