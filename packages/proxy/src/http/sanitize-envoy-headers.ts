// Envoy-internal request headers a client must not be able to set: they steer
// retries, timeouts, tracing and stats inside the mesh. Envoy removes them from
// requests it judges external (use_remote_address and a non-internal trusted
// client address); Weft removes a few more than Envoy (x-envoy-original-path,
// which access logs and upstreams trust to mean "the path before a rewrite").
import type { Headers } from "./request-context.js";

export const ENVOY_INTERNAL_REQUEST_HEADERS: readonly string[] = [
  "x-envoy-decorator-operation",
  "x-envoy-downstream-service-cluster",
  "x-envoy-downstream-service-node",
  "x-envoy-expected-rq-timeout-ms",
  "x-envoy-external-address",
  "x-envoy-force-trace",
  "x-envoy-hedge-on-per-try-timeout",
  "x-envoy-internal",
  "x-envoy-ip-tags",
  "x-envoy-max-retries",
  "x-envoy-original-path",
  "x-envoy-original-url",
  "x-envoy-retriable-header-names",
  "x-envoy-retriable-status-codes",
  "x-envoy-retry-grpc-on",
  "x-envoy-retry-on",
  "x-envoy-upstream-alt-stat-name",
  "x-envoy-upstream-rq-per-try-timeout-ms",
  "x-envoy-upstream-rq-timeout-alt-response",
  "x-envoy-upstream-rq-timeout-ms",
];

/** Removes the internal-only x-envoy-* headers (and the route table's internal_only_headers). */
export function stripEnvoyInternalHeaders(headers: Headers, internalOnly?: readonly string[]): void {
  for (const k of ENVOY_INTERNAL_REQUEST_HEADERS) if (headers[k] !== undefined) delete headers[k];
  if (internalOnly) for (const k of internalOnly) delete headers[k];
}
