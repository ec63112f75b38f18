// RetryState decisions without sockets: which responses and resets are
// retriable under each retry_on condition, how request headers extend the
// policy, the jittered back-off sequence, and previous_hosts.
import { create } from "@bufbuild/protobuf";
import { RetryPolicySchema } from "@weft/xds-api/gen/envoy/config/route/v3/route_components_pb.js";
import { describe, expect, it } from "vitest";
import type { RequestContext } from "../http/request-context.js";
import { createHost } from "../upstream/host.js";
import { compileRetryPolicy } from "./retry-policy.js";
import { createRetryState } from "./retry-state.js";

const ctx = (headers: Record<string, string> = {}) => ({ headers, path: "/", method: "GET", authority: "a", scheme: "http" }) as unknown as RequestContext;
const policy = (init: Record<string, unknown>) => compileRetryPolicy(create(RetryPolicySchema, init as never), "rc", "retry_policy");

describe("retry state", () => {
  it("maps retry_on conditions onto responses and resets as Envoy does", () => {
    const s = (on: string) => createRetryState(policy({ retryOn: on, retriableStatusCodes: [418] }), ctx(), () => 0)!;
    expect(s("5xx").wouldRetryResponse(500, {})).toBe(true);
    expect(s("5xx").wouldRetryFailure("connect_failure")).toBe(true);
    expect(s("gateway-error").wouldRetryResponse(500, {})).toBe(false);
    expect(s("gateway-error").wouldRetryResponse(504, {})).toBe(true);
    expect(s("connect-failure").wouldRetryFailure("connect_failure")).toBe(true);
    expect(s("connect-failure").wouldRetryFailure("reset")).toBe(false);
    expect(s("refused-stream").wouldRetryFailure("refused_stream")).toBe(true);
    expect(s("refused-stream").wouldRetryResponse(503, {})).toBe(false);
    expect(s("retriable-4xx").wouldRetryResponse(409, {})).toBe(true);
    expect(s("retriable-4xx").wouldRetryResponse(404, {})).toBe(false);
    expect(s("retriable-status-codes").wouldRetryResponse(418, {})).toBe(true);
    expect(s("envoy-ratelimited").wouldRetryResponse(429, { "x-envoy-ratelimited": "true" })).toBe(true);
    expect(s("envoy-ratelimited").wouldRetryResponse(429, {})).toBe(false);
    expect(s("unavailable").wouldRetryResponse(200, { "grpc-status": "14" })).toBe(true);
    expect(s("cancelled").wouldRetryResponse(200, { "grpc-status": "14" })).toBe(false);
    // An upstream that says it is overloaded is never retried.
    expect(s("5xx").wouldRetryResponse(503, { "x-envoy-overloaded": "true" })).toBe(false);
  });

  it("request headers add conditions, codes and header names; x-envoy-max-retries overrides num_retries", () => {
    const s = createRetryState(undefined, ctx({ "x-envoy-retry-on": "retriable-status-codes,retriable-headers,bogus", "x-envoy-retriable-status-codes": "418, 420", "x-envoy-retriable-header-names": "X-Again", "x-envoy-max-retries": "4" }), () => 0)!;
    expect(s.remaining).toBe(4);
    expect(s.wouldRetryResponse(420, {})).toBe(true);
    expect(s.wouldRetryResponse(200, { "x-again": "1" })).toBe(true);
    expect(s.wouldRetryResponse(500, {})).toBe(false);
    expect(createRetryState(undefined, ctx({ "x-envoy-max-retries": "3" }), () => 0)).toBeUndefined();
    expect(createRetryState(policy({ retryOn: "5xx" }), ctx(), () => 0)!.remaining).toBe(1);
  });

  it("backs off in [0, base·2^(n-1)) capped at max_interval (defaults 25 ms and 10×)", () => {
    const max = createRetryState(policy({ retryOn: "5xx" }), ctx(), () => 0.999)!;
    expect([1, 2, 3, 4, 5, 6].map(() => max.nextBackoffMs())).toEqual([24, 49, 99, 199, 249, 249]);
    const custom = createRetryState(policy({ retryOn: "5xx", retryBackOff: { baseInterval: { seconds: 0n, nanos: 100_000_000 }, maxInterval: { seconds: 0n, nanos: 300_000_000 } } }), ctx(), () => 0.5)!;
    expect([1, 2, 3].map(() => custom.nextBackoffMs())).toEqual([50, 100, 150]);
  });

  it("rejects a back-off whose max is below its base, naming the field", () => {
    expect(() => policy({ retryOn: "5xx", retryBackOff: { baseInterval: { seconds: 1n, nanos: 0 }, maxInterval: { seconds: 0n, nanos: 1_000_000 } } })).toThrow(/rc: retry_policy.retry_back_off.max_interval/);
    expect(() => policy({ retryOn: "5xx,sometimes" })).toThrow(/unknown retry condition "sometimes"/);
  });

  it("previous_hosts rejects hosts already tried", () => {
    const s = createRetryState(policy({ retryOn: "5xx", retryHostPredicate: [{ name: "envoy.retry_host_predicates.previous_hosts" }], hostSelectionRetryMaxAttempts: 5n }), ctx(), () => 0)!;
    const a = createHost({ ip: "10.0.0.1", port: 80 });
    const b = createHost({ ip: "10.0.0.2", port: 80 });
    s.attempted(a);
    expect(s.rejectHost!(a)).toBe(true);
    expect(s.rejectHost!(b)).toBe(false);
    expect(s.policy.hostSelectionRetryMaxAttempts).toBe(5);
  });

  it("retriable_request_headers limits retries to matching requests", () => {
    const p = policy({ retryOn: "5xx", retriableRequestHeaders: [{ name: ":method", headerMatchSpecifier: { case: "stringMatch", value: { matchPattern: { case: "exact", value: "GET" } } } }] });
    expect(createRetryState(p, ctx(), () => 0)).toBeDefined();
    expect(createRetryState(p, { ...ctx(), method: "POST" } as RequestContext, () => 0)).toBeUndefined();
  });
});
