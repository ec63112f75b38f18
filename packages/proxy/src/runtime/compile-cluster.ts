// envoy.config.cluster.v3.Cluster → ClusterConfig. The only place that reads
// Cluster protos; everything after this works on plain objects.
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { isFieldSet, type JsonObject } from "@bufbuild/protobuf";
import {
  ClusterSchema,
  Cluster_DiscoveryType,
  Cluster_LbPolicy,
  type Cluster,
} from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { HttpProtocolOptionsSchema } from "@weft/xds-api/gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js";
import { xdsRegistry } from "@weft/xds-api";
import { ResourceRejectedError } from "../contracts.js";
import type { LbPolicy } from "../upstream/load-balancer.js";
import { durationMs } from "./duration.js";
import { compileClusterTransport, type ClusterTransportSpec } from "../tls/cluster-transport.js";
import { compileAssignment, type CompiledAssignment } from "./compile-endpoints.js";
import { compileHealthChecks, compileOutlier, compileThresholds } from "./compile-cluster-resilience.js";
import type { ThresholdsConfig } from "../upstream/resource-manager.js";
import type { OutlierConfig } from "../upstream/outlier-detector.js";
import type { HealthCheckConfig } from "../upstream/health-checker.js";
import { bufferLimit } from "./buffer-limit.js";
import { compileTcpKeepalive, type TcpKeepaliveSpec } from "../upstream/tcp-keepalive.js";
import { peerExchangeSpecOf, type PeerExchangeSpec } from "../tcp/peer-exchange.js";

export type ClusterType = "STATIC" | "STRICT_DNS" | "LOGICAL_DNS" | "EDS" | "ORIGINAL_DST";
/** http1/http2 explicit; "downstream" = use_downstream_protocol_config. */
export type UpstreamProtocol = "http1" | "http2" | "downstream";

export interface ClusterConfig {
  name: string;
  type: ClusterType;
  lbPolicy: LbPolicy;
  connectTimeoutMs: number;
  /**
   * upstream_bind_config.source_address: the local address upstream
   * connections are made from. Istio binds inbound clusters to 127.0.0.6 so
   * the capture rules let the sidecar's own connection to the app through.
   */
  sourceAddress?: string;
  /** upstream_connection_options.tcp_keepalive on every upstream TCP connection. */
  tcpKeepalive?: TcpKeepaliveSpec;
  /**
   * per_connection_buffer_limit_bytes (Envoy default 1 MiB, 0: none → Infinity): the most an
   * upstream connection buffers for writing before the proxy stops reading the downstream side.
   */
  perConnectionBufferLimitBytes?: number;
  protocol: UpstreamProtocol;
  maxRequestsPerConnection: number;
  idleTimeoutMs: number;
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
  /** circuit_breakers.thresholds by routing priority (Envoy's defaults where absent). */
  thresholds: { default: ThresholdsConfig; high: ThresholdsConfig };
  outlier?: OutlierConfig;
  healthChecks: HealthCheckConfig[];
  /** common_lb_config.ignore_new_hosts_until_first_hc. */
  ignoreNewHostsUntilFirstHc: boolean;
  edsServiceName: string;
  /** metadata.filter_metadata.istio.services[0] (istiod's), labelling Istio's metrics with the destination service. */
  istioService?: IstioService;
  initialFetchTimeoutMs: number;
  assignment?: CompiledAssignment;
  dnsRefreshMs: number;
  dnsFamily: 0 | 4 | 6;
  choiceCount: number;
  activeRequestBias: number;
  minimumRingSize: number;
  maximumRingSize: number;
  maglevTableSize: number;
  panicThresholdPercent: number;
  localityWeighted: boolean;
  /** ORIGINAL_DST: original_dst_lb_config.use_http_header (x-envoy-original-dst-host). */
  useHttpHeaderForOriginalDst: boolean;
  hasTransportSocket: boolean;
  /** transport_socket / transport_socket_matches with TLS; undefined when every endpoint is plaintext. */
  transport?: ClusterTransportSpec;
  /** filters: istio.metadata_exchange (istiod's TCPClusterMx), tcp_proxy's exchange with the upstream. */
  peerExchange?: PeerExchangeSpec;
}

const HPO_TYPE = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

/** The service a cluster stands for, as istiod names it in the cluster's metadata. */
export interface IstioService {
  /** `reviews.default.svc.cluster.local` */
  host: string;
  /** `reviews` (istiod's `name`, else the host up to its first dot). */
  name: string;
}

function istioServiceOf(istio: JsonObject | undefined): IstioService | undefined {
  const services = istio?.["services"];
  const first = Array.isArray(services) ? services[0] : undefined;
  if (first === null || typeof first !== "object" || Array.isArray(first)) return undefined;
  const host = typeof first["host"] === "string" ? first["host"] : "";
  const name = typeof first["name"] === "string" ? first["name"] : host.split(".")[0]!;
  return { host, name };
}

export function compileCluster(
  c: Cluster,
  report: (field: string, detail?: string) => void,
): ClusterConfig {
  const name = c.name;
  if (!name) throw new ResourceRejectedError("<unnamed cluster>", "name", "cluster name is required");
  const rej = (field: string, reason: string) => new ResourceRejectedError(name, field, reason);

  let type: ClusterType;
  if (c.clusterDiscoveryType.case === "clusterType") {
    throw rej("cluster_type", `custom cluster type ${c.clusterDiscoveryType.value.name} is not supported`);
  }
  const t = c.clusterDiscoveryType.case === "type" ? c.clusterDiscoveryType.value : Cluster_DiscoveryType.STATIC;
  switch (t) {
    case Cluster_DiscoveryType.STATIC: type = "STATIC"; break;
    case Cluster_DiscoveryType.STRICT_DNS: type = "STRICT_DNS"; break;
    case Cluster_DiscoveryType.LOGICAL_DNS: type = "LOGICAL_DNS"; break;
    case Cluster_DiscoveryType.EDS: type = "EDS"; break;
    case Cluster_DiscoveryType.ORIGINAL_DST: type = "ORIGINAL_DST"; break;
    default: throw rej("type", `unknown discovery type ${t}`);
  }

  let lbPolicy: LbPolicy;
  switch (c.lbPolicy) {
    case Cluster_LbPolicy.ROUND_ROBIN: lbPolicy = "ROUND_ROBIN"; break;
    case Cluster_LbPolicy.LEAST_REQUEST: lbPolicy = "LEAST_REQUEST"; break;
    case Cluster_LbPolicy.RANDOM: lbPolicy = "RANDOM"; break;
    case Cluster_LbPolicy.RING_HASH: lbPolicy = "RING_HASH"; break;
    case Cluster_LbPolicy.MAGLEV: lbPolicy = "MAGLEV"; break;
    case Cluster_LbPolicy.CLUSTER_PROVIDED:
      if (type !== "ORIGINAL_DST") throw rej("lb_policy", "CLUSTER_PROVIDED is only valid for ORIGINAL_DST clusters");
      lbPolicy = "ROUND_ROBIN";
      break;
    default:
      throw rej("lb_policy", `unsupported lb_policy ${c.lbPolicy}`);
  }
  if (type === "ORIGINAL_DST" && c.lbPolicy !== Cluster_LbPolicy.CLUSTER_PROVIDED) {
    throw rej("lb_policy", "ORIGINAL_DST clusters require lb_policy CLUSTER_PROVIDED");
  }

  let protocol: UpstreamProtocol = c.http2ProtocolOptions ? "http2" : "http1";
  let maxRequestsPerConnection = c.maxRequestsPerConnection ?? 0;
  let idleTimeoutMs = durationMs(c.commonHttpProtocolOptions?.idleTimeout, 3_600_000);
  for (const [key, any] of Object.entries(c.typedExtensionProtocolOptions)) {
    if (key !== "envoy.extensions.upstreams.http.v3.HttpProtocolOptions" && any.typeUrl !== HPO_TYPE) {
      report(`cluster.typed_extension_protocol_options.${key}`, "not implemented; ignored");
      continue;
    }
    const hpo = anyUnpack(any, HttpProtocolOptionsSchema);
    if (!hpo) throw rej(`typed_extension_protocol_options["${key}"]`, `expected ${HPO_TYPE}, got ${any.typeUrl}`);
    const u = hpo.upstreamProtocolOptions;
    if (u.case === "explicitHttpConfig") {
      const pc = u.value.protocolConfig.case;
      if (pc === "http2ProtocolOptions") protocol = "http2";
      else if (pc === "httpProtocolOptions") protocol = "http1";
      else throw rej(`typed_extension_protocol_options["${key}"].explicit_http_config`, `protocol ${String(pc)} is not supported`);
    } else if (u.case === "useDownstreamProtocolConfig") {
      protocol = "downstream";
    } else if (u.case === "autoConfig") {
      // Without TLS there is no ALPN to negotiate with: Envoy's auto_config then speaks HTTP/1.1.
      protocol = "http1";
    }
    const common = hpo.commonHttpProtocolOptions;
    if (common?.maxRequestsPerConnection !== undefined) maxRequestsPerConnection = common.maxRequestsPerConnection;
    if (common?.idleTimeout) idleTimeoutMs = durationMs(common.idleTimeout, idleTimeoutMs);
  }

  const thresholds = compileThresholds(c);
  const cfg: ClusterConfig = {
    name,
    type,
    lbPolicy,
    connectTimeoutMs: durationMs(c.connectTimeout, 5000),
    sourceAddress: c.upstreamBindConfig?.sourceAddress?.address || undefined,
    tcpKeepalive: compileTcpKeepalive(c.upstreamConnectionOptions?.tcpKeepalive),
    perConnectionBufferLimitBytes: bufferLimit(c.perConnectionBufferLimitBytes),
    protocol,
    maxRequestsPerConnection,
    idleTimeoutMs,
    maxConnections: thresholds.default.maxConnections,
    maxPendingRequests: thresholds.default.maxPendingRequests,
    maxRequests: thresholds.default.maxRequests,
    maxRetries: thresholds.default.maxRetries,
    thresholds,
    outlier: c.outlierDetection ? compileOutlier(c.outlierDetection, name) : undefined,
    healthChecks: compileHealthChecks(c, report),
    ignoreNewHostsUntilFirstHc: c.commonLbConfig?.ignoreNewHostsUntilFirstHc === true,
    edsServiceName: c.edsClusterConfig?.serviceName || name,
    istioService: istioServiceOf(c.metadata?.filterMetadata["istio"]),
    initialFetchTimeoutMs: durationMs(c.edsClusterConfig?.edsConfig?.initialFetchTimeout, 15_000),
    dnsRefreshMs: durationMs(c.dnsRefreshRate, 5000),
    dnsFamily: c.dnsLookupFamily === 1 ? 4 : c.dnsLookupFamily === 2 ? 6 : 0,
    choiceCount: 2,
    activeRequestBias: 1,
    minimumRingSize: 1024,
    maximumRingSize: 8 * 1024 * 1024,
    maglevTableSize: 65537,
    panicThresholdPercent: c.commonLbConfig?.healthyPanicThreshold?.value ?? 50,
    localityWeighted: c.commonLbConfig?.localityConfigSpecifier.case === "localityWeightedLbConfig",
    useHttpHeaderForOriginalDst: false,
    hasTransportSocket: !!c.transportSocket || c.transportSocketMatches.length > 0,
  };
  const lbc = c.lbConfig;
  if (lbc.case === "ringHashLbConfig") {
    if (lbc.value.minimumRingSize !== undefined) cfg.minimumRingSize = Number(lbc.value.minimumRingSize);
    if (lbc.value.maximumRingSize !== undefined) cfg.maximumRingSize = Number(lbc.value.maximumRingSize);
    if (cfg.minimumRingSize > cfg.maximumRingSize) throw rej("ring_hash_lb_config.minimum_ring_size", "exceeds maximum_ring_size");
  } else if (lbc.case === "maglevLbConfig") {
    if (lbc.value.tableSize !== undefined) cfg.maglevTableSize = Number(lbc.value.tableSize);
  } else if (lbc.case === "leastRequestLbConfig") {
    if (lbc.value.choiceCount !== undefined) cfg.choiceCount = lbc.value.choiceCount;
    if (lbc.value.activeRequestBias) cfg.activeRequestBias = lbc.value.activeRequestBias.defaultValue;
  } else if (lbc.case === "originalDstLbConfig") {
    cfg.useHttpHeaderForOriginalDst = lbc.value.useHttpHeader;
  }
  if (cfg.maglevTableSize < 2 || !isPrime(cfg.maglevTableSize)) throw rej("maglev_lb_config.table_size", `${cfg.maglevTableSize} is not a prime number`);

  if (type === "EDS" && c.loadAssignment) report("cluster.load_assignment", "ignored on EDS clusters (endpoints come from EDS)");
  if (type === "STATIC" || type === "STRICT_DNS" || type === "LOGICAL_DNS") {
    cfg.assignment = compileAssignment(c.loadAssignment ?? { endpoints: [], namedEndpoints: {}, clusterName: name } as never, name, "load_assignment", type !== "STATIC");
    if (type === "LOGICAL_DNS" && cfg.assignment.endpoints.length > 1) {
      throw rej("load_assignment", "LOGICAL_DNS clusters must have exactly one endpoint");
    }
  }
  cfg.transport = compileClusterTransport(c, report);
  c.filters.forEach((f, i) => {
    const spec = f.typedConfig ? peerExchangeSpecOf(f.typedConfig, report, `cluster.filters[${i}].typed_config`) : undefined;
    if (spec) cfg.peerExchange = spec;
    else if (spec === undefined) report(`cluster.filters[${f.name}]`, "upstream network filter is not implemented; skipped");
  });
  reportUnhandledFields(c, report);
  const uco = c.upstreamConnectionOptions;
  if (uco?.happyEyeballsConfig || uco?.setLocalInterfaceNameOnUpstreamConnections) report("cluster.upstream_connection_options", "only tcp_keepalive is implemented");
  if (c.lbConfig.case === "leastRequestLbConfig" && c.lbConfig.value.slowStartConfig) report("cluster.least_request_lb_config.slow_start_config", "not implemented: no slow start (DestinationRule warmupDurationSecs)");
  // Cheap sanity check: registry knows the types we unpack (kept for clear errors if it didn't).
  void xdsRegistry;
  return cfg;
}

/**
 * Cluster fields this proxy acts on (or, like metadata, that have no behaviour
 * of their own). Any other field that is set is reported once, so an operator
 * learns that Envoy would have done something with it (a DestinationRule's
 * tcpKeepalive, warmupDurationSecs…) instead of finding out from traffic.
 */
const HANDLED_CLUSTER_FIELDS = new Set([
  "name", "type", "clusterType", "edsClusterConfig", "connectTimeout", "perConnectionBufferLimitBytes", "lbPolicy",
  "loadAssignment", "healthChecks", "maxRequestsPerConnection", "circuitBreakers", "commonHttpProtocolOptions",
  "httpProtocolOptions", "http2ProtocolOptions", "typedExtensionProtocolOptions", "dnsRefreshRate", "dnsLookupFamily",
  "outlierDetection", "upstreamBindConfig", "ringHashLbConfig", "maglevLbConfig",
  "originalDstLbConfig", "leastRequestLbConfig", "commonLbConfig", "transportSocket", "metadata", "transportSocketMatches",
  "upstreamConnectionOptions", "filters",
]);

/** What weft does instead, where that is more useful than "ignored". */
const UNHANDLED_DETAIL: Record<string, string> = {
  respect_dns_ttl: "not implemented: records are re-resolved every dns_refresh_rate (5 s by default)",
  cleanup_interval: "not implemented: ORIGINAL_DST hosts idle for 5 s are removed",
  round_robin_lb_config: "not implemented: no slow start (DestinationRule warmupDurationSecs)",
  lb_subset_config: "not implemented: every endpoint of the cluster is a candidate",
};

function reportUnhandledFields(c: Cluster, report: (field: string, detail?: string) => void): void {
  for (const f of ClusterSchema.fields) {
    if (!HANDLED_CLUSTER_FIELDS.has(f.localName) && isFieldSet(c, f)) report(`cluster.${f.name}`, UNHANDLED_DETAIL[f.name] ?? "not implemented; ignored");
  }
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let i = 2; i * i <= n; i++) if (n % i === 0) return false;
  return true;
}
