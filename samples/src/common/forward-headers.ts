import type { IncomingHttpHeaders } from "node:http";

/**
 * Headers productpage copies from its inbound request to every upstream call, as
 * Istio's productpage.py does: tracing context (Envoy only continues a trace if
 * the app carries these across), the end user for header-based routing, and the
 * session material.
 */
export const PRODUCTPAGE_FORWARDED_HEADERS = [
  "x-request-id",
  "x-ot-span-context",
  "x-datadog-trace-id",
  "x-datadog-parent-id",
  "x-datadog-sampling-priority",
  "traceparent",
  "tracestate",
  "x-cloud-trace-context",
  "grpc-trace-bin",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "x-b3-sampled",
  "x-b3-flags",
  "sw8",
  "end-user",
  "user-agent",
  "cookie",
  "authorization",
  "jwt",
] as const;

/**
 * Headers the reviews service copies to its ratings call, as the original's
 * LibertyRestEndpoint does; `end-user` is what lets the ratings fault-injection
 * rules match jason.
 */
export const REVIEWS_FORWARDED_HEADERS = [
  "x-request-id",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "x-b3-sampled",
  "x-b3-flags",
  "x-ot-span-context",
  "x-datadog-trace-id",
  "x-datadog-parent-id",
  "x-datadog-sampling-priority",
  "traceparent",
  "tracestate",
  "x-cloud-trace-context",
  "grpc-trace-bin",
  "sw8",
  "user-agent",
  "end-user",
] as const;

/** The listed headers that are present on `incoming`, lower-case names, repeated values joined. */
export function pickHeaders(incoming: IncomingHttpHeaders, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = incoming[name];
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(name === "cookie" ? "; " : ", ") : value;
  }
  return out;
}
