import { isAbsolute, resolve } from "node:path";
import type { Bootstrap } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb";
import { ApiConfigSource_ApiType } from "@weft/xds-api/gen/envoy/config/core/v3/config_source_pb";

/** Where ADS lives and how to speak to it. */
export interface AdsTarget {
  address: { kind: "unix"; path: string } | { kind: "tcp"; host: string; port: number };
  /** DELTA_GRPC in ads_config.api_type → incremental xDS. */
  delta: boolean;
  /** The static cluster (envoy_grpc.cluster_name) or google_grpc target it came from, for messages. */
  via: string;
}

export class AdsConfigError extends Error {
  override readonly name = "AdsConfigError";
}

/**
 * Resolves dynamic_resources.ads_config to a socket address. Istio points
 * envoy_grpc at the STATIC cluster `xds-grpc`, whose one endpoint is a pipe
 * (`./etc/istio/proxy/XDS`, relative to the working directory as in Envoy)
 * or a TCP address. Returns undefined when the bootstrap has no ADS.
 */
export function resolveAdsTarget(bootstrap: Bootstrap, cwd = process.cwd()): AdsTarget | undefined {
  const ads = bootstrap.dynamicResources?.adsConfig;
  if (!ads) return undefined;
  const path = "dynamic_resources.ads_config";
  let delta: boolean;
  switch (ads.apiType) {
    case ApiConfigSource_ApiType.GRPC:
    case ApiConfigSource_ApiType.AGGREGATED_GRPC:
      delta = false;
      break;
    case ApiConfigSource_ApiType.DELTA_GRPC:
    case ApiConfigSource_ApiType.AGGREGATED_DELTA_GRPC:
      delta = true;
      break;
    default:
      throw new AdsConfigError(`${path}.api_type: ${ApiConfigSource_ApiType[ads.apiType] ?? ads.apiType} is not supported for ADS (use GRPC or DELTA_GRPC)`);
  }
  const service = ads.grpcServices[0];
  if (!service) throw new AdsConfigError(`${path}.grpc_services: ADS needs one gRPC service`);
  const target = service.targetSpecifier;
  if (target.case === "googleGrpc") {
    const uri = target.value.targetUri;
    const unix = /^unix:(?:\/\/)?(.+)$/.exec(uri);
    if (unix) return { address: { kind: "unix", path: absolute(unix[1]!, cwd) }, delta, via: `google_grpc ${uri}` };
    const m = /^(?:dns:(?:\/\/\/)?)?\[?([^\]]+?)\]?:(\d+)$/.exec(uri);
    if (!m) throw new AdsConfigError(`${path}.grpc_services[0].google_grpc.target_uri: expected host:port or unix:path, got '${uri}'`);
    return { address: { kind: "tcp", host: m[1]!, port: Number(m[2]) }, delta, via: `google_grpc ${uri}` };
  }
  if (target.case !== "envoyGrpc") throw new AdsConfigError(`${path}.grpc_services[0]: needs envoy_grpc or google_grpc`);
  const name = target.value.clusterName;
  const cluster = bootstrap.staticResources?.clusters.find((c) => c.name === name);
  if (!cluster) throw new AdsConfigError(`${path}.grpc_services[0].envoy_grpc.cluster_name: '${name}' is not a static cluster in static_resources.clusters`);
  const lbEndpoint = cluster.loadAssignment?.endpoints[0]?.lbEndpoints[0];
  const endpoint = lbEndpoint?.hostIdentifier.case === "endpoint" ? lbEndpoint.hostIdentifier.value : undefined;
  const address = endpoint?.address?.address;
  if (!address) throw new AdsConfigError(`static_resources.clusters[${name}].load_assignment: the ADS cluster needs one endpoint with an address`);
  if (address.case === "pipe") return { address: { kind: "unix", path: absolute(address.value.path, cwd) }, delta, via: `cluster ${name}` };
  if (address.case === "socketAddress") {
    const port = address.value.portSpecifier.case === "portValue" ? address.value.portSpecifier.value : undefined;
    if (port === undefined) throw new AdsConfigError(`static_resources.clusters[${name}]…socket_address.port_value: required for ADS`);
    return { address: { kind: "tcp", host: address.value.address, port }, delta, via: `cluster ${name}` };
  }
  throw new AdsConfigError(`static_resources.clusters[${name}]: unsupported ADS address kind ${address.case}`);
}

function absolute(path: string, cwd: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}

/** The delay before reconnect attempt n (0-based): full jitter over 0.5 s · 2ⁿ, capped at 30 s (Envoy's JitteredExponentialBackOffStrategy). */
export function backoffDelayMs(attempt: number, random = Math.random, baseMs = 500, maxMs = 30_000): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 16));
  return Math.max(baseMs / 2, Math.floor(random() * ceiling));
}
