// Envoy-internal request headers a client must not be able to set: they steer
// retries, timeouts, tracing and stats inside the mesh. Envoy's
// ConnectionManagerUtility::cleanInternalHeaders removes them from every
// request it does not judge internal — on a sidecar without use_remote_address
// that is every request without a single internal XFF address, which is why an
// app behind an Istio sidecar cannot override its VirtualService's timeout
// with x-envoy-upstream-rq-timeout-ms. Edge requests (use_remote_address and
// external) also lose the headers that claim a downstream identity. Weft
// removes one more at the edge than Envoy: x-envoy-original-path, which access
// logs and upstreams trust to mean "the path before a rewrite".
import type { Headers } from "./request-context.js";

/** Removed from every request that is not internal (edge or not), as Envoy. */
export const NON_INTERNAL_STRIPPED_HEADERS: readonly string[] = [
  "x-envoy-retriable-status-codes",
  "x-envoy-retriable-header-names",
  "x-envoy-retry-on",
  "x-envoy-retry-grpc-on",
  "x-envoy-max-retries",
  "x-envoy-upstream-alt-stat-name",
  "x-envoy-upstream-rq-timeout-ms",
  "x-envoy-upstream-rq-per-try-timeout-ms",
  "x-envoy-upstream-rq-timeout-alt-response",
  "x-envoy-expected-rq-timeout-ms",
  "x-envoy-force-trace",
  "x-envoy-ip-tags",
  "x-envoy-original-url",
  "x-envoy-hedge-on-per-try-timeout",
];

/** Removed from edge requests only (use_remote_address and not internal). */
export const EDGE_STRIPPED_HEADERS: readonly string[] = [
  "x-envoy-decorator-operation",
  "x-envoy-downstream-service-cluster",
  "x-envoy-downstream-service-node",
  "x-envoy-original-path",
];

/**
 * Removes what Envoy removes from a request that is not internal: the retry,
 * timeout and tracing controls, the route table's internal_only_headers, and
 * at the edge the downstream-identity headers too.
 */
export function stripEnvoyInternalHeaders(headers: Headers, edge: boolean, internalOnly?: readonly string[]): void {
  for (const k of NON_INTERNAL_STRIPPED_HEADERS) if (headers[k] !== undefined) delete headers[k];
  if (edge) for (const k of EDGE_STRIPPED_HEADERS) if (headers[k] !== undefined) delete headers[k];
  if (internalOnly) for (const k of internalOnly) delete headers[k];
}
