// Small pure pieces of the router's upstream half: response-code stats, the
// local reply for a failed attempt, and the router's own request headers.
import { LocalReplies, type LocalReply } from "../http/local-reply.js";
import type { ClusterStats } from "../upstream/cluster-stats.js";
import type { UpstreamError, UpstreamFailure } from "../upstream/upstream-stream.js";
import type { AttemptFailure } from "./retry-state.js";

export function countResponse(stats: ClusterStats, status: number): void {
  stats.rqTotal.inc();
  stats.byCode(status).inc();
  if (status >= 500) stats.rq5xx.inc();
  else if (status >= 400) stats.rq4xx.inc();
  else if (status >= 300) stats.rq3xx.inc();
  else if (status >= 200) stats.rq2xx.inc();
}

export function attemptFailureOf(f: Exclude<UpstreamFailure, "overflow">): AttemptFailure {
  return f === "connection_failure" ? "connect_failure" : f;
}

/** Envoy's local reply for the last failed attempt (`retried and the latest reset reason: …` after retries). */
export function failureReply(f: AttemptFailure, err: UpstreamError | undefined, retried: boolean): LocalReply {
  switch (f) {
    case "connect_failure":
      return LocalReplies.connectFailure(err?.transportReason ?? "", retried);
    case "connection_termination":
      return LocalReplies.connectionTermination(retried);
    case "refused_stream":
      return {
        status: 503,
        body: `upstream connect error or disconnect/reset before headers. ${retried ? "retried and the latest " : ""}reset reason: remote refused stream reset`,
        details: "upstream_reset_before_response_started{remote_refused_stream_reset}",
        flag: "UR",
      };
    case "per_try_timeout":
    case "per_try_idle_timeout":
      return LocalReplies.timeout();
    default:
      return LocalReplies.reset(retried);
  }
}

/** A positive integer header (x-envoy-upstream-rq-timeout-ms…); undefined when absent or malformed. */
export function headerMs(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined || !/^\d+$/.test(s.trim())) return undefined;
  return Number(s.trim());
}

/** The retry headers Envoy's router reads and then removes, so they never reach the upstream. */
const CONSUMED_RETRY_HEADERS = [
  "x-envoy-retry-on",
  "x-envoy-retry-grpc-on",
  "x-envoy-max-retries",
  "x-envoy-hedge-on-per-try-timeout",
  "x-envoy-retriable-header-names",
  "x-envoy-retriable-status-codes",
  "x-envoy-upstream-rq-per-try-timeout-ms",
];

/**
 * Removes the router's control headers once read, as Envoy's router does: the retry set
 * always, x-envoy-upstream-rq-timeout-ms only when it parsed (Envoy keeps a malformed one).
 * Otherwise the next proxy would apply the same overrides a second time.
 */
export function consumeRouterHeaders(h: Record<string, string | string[] | undefined>, timeoutParsed: boolean): void {
  for (const k of CONSUMED_RETRY_HEADERS) if (h[k] !== undefined) delete h[k];
  if (timeoutParsed) delete h["x-envoy-upstream-rq-timeout-ms"];
}
