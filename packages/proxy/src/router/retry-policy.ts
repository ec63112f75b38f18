// route.v3.RetryPolicy compiled once: retry_on conditions as bits, back-off,
// host predicates. The per-request half (headers, counting, decisions) is
// retry-state.ts.
import type { RetryPolicy } from "@weft/xds-api/gen/envoy/config/route/v3/route_components_pb.js";
import { ResourceRejectedError } from "../contracts.js";
import { durationMs } from "../runtime/duration.js";
import { compileHeaderMatcher, type RouteMatcher } from "./route-match.js";

export const RetryOn = {
  R5XX: 1 << 0,
  GATEWAY_ERROR: 1 << 1,
  CONNECT_FAILURE: 1 << 2,
  RESET: 1 << 3,
  REFUSED_STREAM: 1 << 4,
  RETRIABLE_4XX: 1 << 5,
  RETRIABLE_STATUS_CODES: 1 << 6,
  RETRIABLE_HEADERS: 1 << 7,
  ENVOY_RATELIMITED: 1 << 8,
  RESET_BEFORE_REQUEST: 1 << 9,
  GRPC_CANCELLED: 1 << 10,
  GRPC_DEADLINE_EXCEEDED: 1 << 11,
  GRPC_INTERNAL: 1 << 12,
  GRPC_RESOURCE_EXHAUSTED: 1 << 13,
  GRPC_UNAVAILABLE: 1 << 14,
  HTTP3_POST_CONNECT_FAILURE: 1 << 15,
} as const;

const NAMES: Record<string, number> = {
  "5xx": RetryOn.R5XX,
  "gateway-error": RetryOn.GATEWAY_ERROR,
  "connect-failure": RetryOn.CONNECT_FAILURE,
  reset: RetryOn.RESET,
  "refused-stream": RetryOn.REFUSED_STREAM,
  "retriable-4xx": RetryOn.RETRIABLE_4XX,
  "retriable-status-codes": RetryOn.RETRIABLE_STATUS_CODES,
  "retriable-headers": RetryOn.RETRIABLE_HEADERS,
  "envoy-ratelimited": RetryOn.ENVOY_RATELIMITED,
  "reset-before-request": RetryOn.RESET_BEFORE_REQUEST,
  cancelled: RetryOn.GRPC_CANCELLED,
  "deadline-exceeded": RetryOn.GRPC_DEADLINE_EXCEEDED,
  internal: RetryOn.GRPC_INTERNAL,
  "resource-exhausted": RetryOn.GRPC_RESOURCE_EXHAUSTED,
  unavailable: RetryOn.GRPC_UNAVAILABLE,
  "http3-post-connect-failure": RetryOn.HTTP3_POST_CONNECT_FAILURE,
};

/** Parses a retry_on list; unknown names are returned (the header form ignores them, config rejects them). */
export function parseRetryOn(list: string): { bits: number; unknown: string[] } {
  let bits = 0;
  const unknown: string[] = [];
  for (const raw of list.split(",")) {
    const n = raw.trim();
    if (!n) continue;
    const b = NAMES[n];
    if (b === undefined) unknown.push(n);
    else bits |= b;
  }
  return { bits, unknown };
}

export interface RetryPolicySpec {
  retryOn: number;
  numRetries: number;
  perTryTimeoutMs: number;
  perTryIdleTimeoutMs: number;
  retriableStatusCodes: Set<number>;
  /** retriable_headers, matched against the upstream response headers. */
  retriableHeaders: RouteMatcher[];
  /** retriable_request_headers: when set, only matching requests are retried. */
  retriableRequestHeaders: RouteMatcher[];
  baseIntervalMs: number;
  maxIntervalMs: number;
  /** envoy.retry_host_predicates.previous_hosts */
  previousHosts: boolean;
  hostSelectionRetryMaxAttempts: number;
}

const PREVIOUS_HOSTS = new Set(["envoy.retry_host_predicates.previous_hosts", "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"]);

/** Envoy's defaults for a policy that exists only because of x-envoy-retry-on. */
export function defaultRetryPolicy(): RetryPolicySpec {
  return {
    retryOn: 0,
    numRetries: 1,
    perTryTimeoutMs: 0,
    perTryIdleTimeoutMs: 0,
    retriableStatusCodes: new Set(),
    retriableHeaders: [],
    retriableRequestHeaders: [],
    baseIntervalMs: 25,
    maxIntervalMs: 250,
    previousHosts: false,
    hostSelectionRetryMaxAttempts: 1,
  };
}

export function compileRetryPolicy(p: RetryPolicy, res: string, field: string, report: (field: string, detail?: string) => void = () => {}): RetryPolicySpec {
  const { bits, unknown } = parseRetryOn(p.retryOn);
  if (unknown.length) throw new ResourceRejectedError(res, `${field}.retry_on`, `unknown retry condition ${JSON.stringify(unknown[0])}`);
  const spec = defaultRetryPolicy();
  spec.retryOn = bits;
  spec.numRetries = p.numRetries ?? 1;
  spec.perTryTimeoutMs = durationMs(p.perTryTimeout, 0);
  spec.perTryIdleTimeoutMs = durationMs(p.perTryIdleTimeout, 0);
  spec.retriableStatusCodes = new Set(p.retriableStatusCodes);
  spec.retriableHeaders = p.retriableHeaders.map((h, i) => compileHeaderMatcher(h, res, `${field}.retriable_headers[${i}]`));
  if (p.retryBackOff) {
    const base = durationMs(p.retryBackOff.baseInterval, 0);
    if (base <= 0) throw new ResourceRejectedError(res, `${field}.retry_back_off.base_interval`, "must be greater than 0");
    const max = durationMs(p.retryBackOff.maxInterval, base * 10);
    if (max < base) throw new ResourceRejectedError(res, `${field}.retry_back_off.max_interval`, "must not be less than base_interval");
    spec.baseIntervalMs = base;
    spec.maxIntervalMs = max;
  }
  p.retryHostPredicate.forEach((hp, i) => {
    const typeUrl = hp.configType.case === "typedConfig" ? hp.configType.value.typeUrl : "";
    if (PREVIOUS_HOSTS.has(hp.name) || PREVIOUS_HOSTS.has(typeUrl)) spec.previousHosts = true;
    else report(`route.retry_policy.retry_host_predicate[${i}]`, `${hp.name || typeUrl} is not implemented; ignored`);
  });
  // Unset (0) means Envoy's default of one re-selection.
  spec.hostSelectionRetryMaxAttempts = p.hostSelectionRetryMaxAttempts > 0n ? Number(p.hostSelectionRetryMaxAttempts) : 1;
  if (p.retryPriority) report("route.retry_policy.retry_priority", "not implemented; retries use the normal priority load");
  if (p.rateLimitedRetryBackOff) report("route.retry_policy.rate_limited_retry_back_off", "not implemented; the exponential back-off applies");
  spec.retriableRequestHeaders = p.retriableRequestHeaders.map((h, i) => compileHeaderMatcher(h, res, `${field}.retriable_request_headers[${i}]`));
  if (p.retryOptionsPredicates.length) report("route.retry_policy.retry_options_predicates", "not implemented");
  return spec;
}
