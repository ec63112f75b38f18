// Envoy's response flags: short form (%RESPONSE_FLAGS%) → long form
// (%RESPONSE_FLAGS_LONG%), from StreamInfo::ResponseFlagUtils.
export const RESPONSE_FLAG_LONG_NAMES: Readonly<Record<string, string>> = {
  LH: "FailedLocalHealthCheck",
  UH: "NoHealthyUpstream",
  UT: "UpstreamRequestTimeout",
  LR: "LocalReset",
  UR: "UpstreamRemoteReset",
  UF: "UpstreamConnectionFailure",
  UC: "UpstreamConnectionTermination",
  UO: "UpstreamOverflow",
  NR: "NoRouteFound",
  DI: "DelayInjected",
  FI: "FaultInjected",
  RL: "RateLimited",
  UAEX: "UnauthorizedExternalService",
  RLSE: "RateLimitServiceError",
  DC: "DownstreamConnectionTermination",
  URX: "UpstreamRetryLimitExceeded",
  SI: "StreamIdleTimeout",
  IH: "InvalidEnvoyRequestHeaders",
  DPE: "DownstreamProtocolError",
  UMSDR: "UpstreamMaxStreamDurationReached",
  RFCF: "ResponseFromCacheFilter",
  NFCF: "NoFilterConfigFound",
  DT: "DurationTimeout",
  UPE: "UpstreamProtocolError",
  NC: "NoClusterFound",
  OM: "OverloadManagerTerminated",
  DF: "DnsResolutionFailed",
  DO: "DropOverload",
  DR: "DownstreamRemoteReset",
  UDO: "UnconditionalDropOverload",
};

export function isKnownResponseFlag(flag: string): boolean {
  return Object.hasOwn(RESPONSE_FLAG_LONG_NAMES, flag);
}
