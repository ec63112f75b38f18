// Envoy's local replies: status, body text, response code details and flags,
// exactly as Envoy sends them.
export interface LocalReply {
  status: number;
  body: string;
  /** %RESPONSE_CODE_DETAILS% */
  details: string;
  /** Response flag to record (NR, UH, UF…), if any. */
  flag?: string;
  headers?: Record<string, string>;
  /** grpc-status of the trailers-only reply to a gRPC request, when not the one the HTTP status maps to. */
  grpcStatus?: string;
}

export const LocalReplies = {
  routeNotFound: (): LocalReply => ({ status: 404, body: "", details: "route_not_found", flag: "NR" }),
  clusterNotFound: (status: number): LocalReply => ({ status, body: "", details: "cluster_not_found", flag: "NC" }),
  noHealthyUpstream: (): LocalReply => ({ status: 503, body: "no healthy upstream", details: "no_healthy_upstream", flag: "UH" }),
  // A circuit breaker's refusal says so (Envoy's router adds x-envoy-overloaded to an overflow
  // reply): the client's proxy then never retries it, which would only add to the overload.
  overflow: (envoyHeaders = true): LocalReply => ({
    status: 503,
    body: "upstream connect error or disconnect/reset before headers. reset reason: overflow",
    details: "upstream_reset_before_response_started{overflow}",
    flag: "UO",
    ...(envoyHeaders ? { headers: { "x-envoy-overloaded": "true" } } : {}),
  }),
  connectFailure: (transport: string, retried: boolean): LocalReply => ({
    status: 503,
    body:
      `upstream connect error or disconnect/reset before headers. ${retried ? "retried and the latest " : ""}reset reason: connection failure` +
      (transport ? `, transport failure reason: ${transport}` : ""),
    details: `upstream_reset_before_response_started{connection_failure${transport ? "," + transport.replace(/ /g, "_") : ""}}`,
    flag: "UF",
  }),
  connectionTermination: (retried: boolean): LocalReply => ({
    status: 503,
    body: `upstream connect error or disconnect/reset before headers. ${retried ? "retried and the latest " : ""}reset reason: connection termination`,
    details: "upstream_reset_before_response_started{connection_termination}",
    flag: "UC",
  }),
  reset: (retried: boolean): LocalReply => ({
    status: 503,
    body: `upstream connect error or disconnect/reset before headers. ${retried ? "retried and the latest " : ""}reset reason: remote reset`,
    details: "upstream_reset_before_response_started{remote_reset}",
    flag: "UR",
  }),
  timeout: (): LocalReply => ({ status: 504, body: "upstream request timeout", details: "upstream_response_timeout", flag: "UT" }),
  retryLimitExceeded: (): LocalReply => ({ status: 503, body: "", details: "upstream_reset_before_response_started", flag: "URX" }),
  upgradeFailed: (): LocalReply => ({ status: 403, body: "", details: "upgrade_failed" }),
  directResponse: (status: number, body: string): LocalReply => ({ status, body, details: "direct_response" }),
  streamIdleTimeout: (): LocalReply => ({ status: 408, body: "stream timeout", details: "stream_idle_timeout" }),
  requestTimeout: (): LocalReply => ({ status: 408, body: "request timeout", details: "request_overall_timeout" }),
  /** max_stream_duration or a grpc-timeout reached: 504 once the request is complete, 408 before; DEADLINE_EXCEEDED to gRPC. */
  maxDurationTimeout: (requestComplete: boolean): LocalReply => ({ status: requestComplete ? 504 : 408, body: "downstream duration timeout", details: "max_duration_timeout", grpcStatus: "4" }),
  requestHeadersTimeout: (): LocalReply => ({ status: 408, body: "request headers timeout", details: "request_header_timeout" }),
};
