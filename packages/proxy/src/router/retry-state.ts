// The retry half of one request: the route/virtual-host policy merged with
// the x-envoy-retry-on / x-envoy-retry-grpc-on / x-envoy-max-retries /
// x-envoy-retriable-status-codes / x-envoy-retriable-header-names request
// headers, then the decisions Envoy's RetryStateImpl makes: is this response
// or reset retriable, how long to back off (jittered exponential), which
// hosts to avoid (previous_hosts).
import type { Headers, RequestContext } from "../http/request-context.js";
import type { Host } from "../upstream/host.js";
import { defaultRetryPolicy, parseRetryOn, RetryOn, type RetryPolicySpec } from "./retry-policy.js";

/** How an attempt failed before a response arrived. */
export type AttemptFailure = "connect_failure" | "connection_termination" | "reset" | "refused_stream" | "per_try_timeout" | "per_try_idle_timeout";

export interface RetryState {
  readonly policy: RetryPolicySpec;
  /** Retries not yet used. */
  remaining: number;
  /** Retries used so far. */
  used: number;
  wouldRetryResponse(status: number, headers: Headers): boolean;
  wouldRetryFailure(f: AttemptFailure): boolean;
  /** Next back-off in ms (full jitter over an interval that doubles up to max_interval). */
  nextBackoffMs(): number;
  attempted(host: Host): void;
  /** The retry host predicate: true for hosts a retry should avoid. */
  rejectHost?: (host: Host) => boolean;
}

const GRPC_BITS: Array<[string, number]> = [
  ["1", RetryOn.GRPC_CANCELLED],
  ["4", RetryOn.GRPC_DEADLINE_EXCEEDED],
  ["8", RetryOn.GRPC_RESOURCE_EXHAUSTED],
  ["13", RetryOn.GRPC_INTERNAL],
  ["14", RetryOn.GRPC_UNAVAILABLE],
];

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** Returns undefined when the request is not retriable at all (no policy, no retry_on). */
export function createRetryState(route: RetryPolicySpec | undefined, ctx: RequestContext, random: () => number): RetryState | undefined {
  const h = ctx.headers;
  const onHeader = first(h["x-envoy-retry-on"]);
  const grpcOnHeader = first(h["x-envoy-retry-grpc-on"]);
  if (!route && onHeader === undefined && grpcOnHeader === undefined) return undefined;
  let policy = route ?? defaultRetryPolicy();
  // Header conditions add to the route's (unknown names in headers are ignored, as Envoy does).
  const extra = (onHeader ? parseRetryOn(onHeader).bits : 0) | (grpcOnHeader ? parseRetryOn(grpcOnHeader).bits : 0);
  const maxHeader = first(h["x-envoy-max-retries"]);
  const codesHeader = first(h["x-envoy-retriable-status-codes"]);
  const namesHeader = first(h["x-envoy-retriable-header-names"]);
  if (extra || maxHeader !== undefined || codesHeader !== undefined || namesHeader !== undefined) {
    policy = { ...policy, retryOn: policy.retryOn | extra };
    if (maxHeader !== undefined && /^\d+$/.test(maxHeader.trim())) policy.numRetries = Number(maxHeader.trim());
    if (codesHeader) {
      policy.retriableStatusCodes = new Set(policy.retriableStatusCodes);
      for (const c of codesHeader.split(",")) if (/^\s*\d{3}\s*$/.test(c)) policy.retriableStatusCodes.add(Number(c));
    }
    if (namesHeader) {
      policy.retriableHeaders = [...policy.retriableHeaders];
      for (const n of namesHeader.split(",")) {
        const name = n.trim().toLowerCase();
        if (name) policy.retriableHeaders.push((c) => c.headers[name] !== undefined);
      }
    }
  }
  if (policy.retryOn === 0) return undefined;
  if (policy.retriableRequestHeaders.length && !policy.retriableRequestHeaders.some((m) => m(ctx))) return undefined;

  return new RequestRetryState(policy, random);
}

/**
 * One request's retry state. A class rather than an object of closures: with
 * Istio's default retry policy every request in a sidecar carries one, and the
 * hosts it tried are only collected once there is a second try.
 */
class RequestRetryState implements RetryState {
  remaining: number;
  used = 0;
  private interval: number;
  private firstHost: Host | undefined = undefined;
  private laterHosts: Host[] | undefined = undefined;
  private rejecter: ((host: Host) => boolean) | undefined = undefined;
  /** What retriable-header matchers read: the response's headers in a request-shaped object. */
  private responseCtx: RequestContext | undefined = undefined;

  constructor(
    readonly policy: RetryPolicySpec,
    private readonly random: () => number,
  ) {
    this.remaining = policy.numRetries;
    this.interval = policy.baseIntervalMs;
  }

  wouldRetryResponse(status: number, headers: Headers): boolean {
    const policy = this.policy;
    const on = policy.retryOn;
    // An upstream that says it is overloaded is never retried.
    if (headers["x-envoy-overloaded"] !== undefined) return false;
    if (on & RetryOn.ENVOY_RATELIMITED && headers["x-envoy-ratelimited"] !== undefined) return true;
    if (on & RetryOn.R5XX && status >= 500 && status < 600) return true;
    if (on & RetryOn.GATEWAY_ERROR && (status === 502 || status === 503 || status === 504)) return true;
    if (on & RetryOn.RETRIABLE_4XX && status === 409) return true;
    if (on & RetryOn.RETRIABLE_STATUS_CODES && policy.retriableStatusCodes.has(status)) return true;
    if (on & RetryOn.RETRIABLE_HEADERS && policy.retriableHeaders.length) {
      const rc = (this.responseCtx ??= { headers: {} as Headers } as RequestContext);
      rc.headers = headers;
      if (policy.retriableHeaders.some((m) => m(rc))) return true;
    }
    const grpc = first(headers["grpc-status"]);
    if (grpc !== undefined) for (const [code, bit] of GRPC_BITS) if (on & bit && grpc === code) return true;
    return false;
  }

  wouldRetryFailure(f: AttemptFailure): boolean {
    const on = this.policy.retryOn;
    // 5xx, gateway-error and reset cover every reset (a reset becomes a locally generated 503/504).
    if (on & (RetryOn.R5XX | RetryOn.GATEWAY_ERROR | RetryOn.RESET)) return true;
    if (f === "connect_failure" && on & (RetryOn.CONNECT_FAILURE | RetryOn.RESET_BEFORE_REQUEST)) return true;
    if (f === "refused_stream" && on & RetryOn.REFUSED_STREAM) return true;
    return false;
  }

  nextBackoffMs(): number {
    const max = this.policy.maxIntervalMs;
    const b = this.interval;
    this.interval = b > max / 2 ? max : b * 2;
    return Math.min(Math.floor(this.random() * b), max);
  }

  attempted(host: Host): void {
    if (this.firstHost === undefined) this.firstHost = host;
    else (this.laterHosts ??= []).push(host);
  }

  /** previous_hosts: the hosts already tried (nothing to avoid before the first try). */
  get rejectHost(): ((host: Host) => boolean) | undefined {
    if (!this.policy.previousHosts || this.firstHost === undefined) return undefined;
    return (this.rejecter ??= (host) => this.tried(host));
  }

  private tried(host: Host): boolean {
    return host === this.firstHost || (this.laterHosts !== undefined && this.laterHosts.includes(host));
  }
}
