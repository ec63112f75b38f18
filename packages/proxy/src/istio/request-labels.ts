// The labels of Istio's standard HTTP metrics for one request, with the values
// and fallbacks Istio's stats filter gives them: who is local comes from the
// node metadata, who the peer is from metadata exchange (and its SPIFFE
// principal), the destination service from the cluster's istiod metadata or
// the Host header. The order is Istio's, so a series' labels read the same.
import type { RequestContext } from "../http/request-context.js";
import type { IstioService } from "../runtime/compile-cluster.js";
import { namespaceOfPrincipal, type WorkloadMetadata } from "./peer-metadata.js";
import { grpcCallStatus, isGrpcRequest } from "../http/grpc-status.js";

export const REQUEST_LABELS = [
  "reporter",
  "source_workload",
  "source_canonical_service",
  "source_canonical_revision",
  "source_workload_namespace",
  "source_principal",
  "source_app",
  "source_version",
  "source_cluster",
  "destination_workload",
  "destination_workload_namespace",
  "destination_principal",
  "destination_app",
  "destination_version",
  "destination_service",
  "destination_canonical_service",
  "destination_canonical_revision",
  "destination_service_name",
  "destination_service_namespace",
  "destination_cluster",
  "request_protocol",
  "response_code",
  "grpc_response_status",
  "response_flags",
  "connection_security_policy",
] as const;

/** Istio's TCP metrics carry the same labels but response_code and grpc_response_status. */
export const TCP_LABELS: readonly string[] = REQUEST_LABELS.filter((l) => l !== "response_code" && l !== "grpc_response_status");

/** Which side of the exchange this proxy reports for: Istio's reporter label. */
export type Reporter = "source" | "destination" | "waypoint";

/**
 * The reporter for a PluginConfig's `reporter` (enum name or number, as proto3 JSON may carry it)
 * on a listener of `direction`: SERVER_GATEWAY is a waypoint; otherwise Istio infers it from the
 * listener's traffic_direction, INBOUND reporting as the destination and anything else as the source.
 */
export function istioReporter(reporter: unknown, direction: string | undefined): Reporter {
  if (reporter === "SERVER_GATEWAY" || reporter === 1) return "waypoint";
  return direction === "INBOUND" ? "destination" : "source";
}

/** Clusters that stand for no service: their name is the destination_service_name. */
const SPECIAL_CLUSTERS = new Set(["BlackHoleCluster", "PassthroughCluster", "InboundPassthroughCluster", "InboundPassthroughClusterIpv4", "InboundPassthroughClusterIpv6"]);


export interface LabelInputs {
  reporter: Reporter;
  local: WorkloadMetadata;
  /** The peer exchange found: the downstream one for destination/waypoint reporters, else the upstream one. */
  peer: WorkloadMetadata | undefined;
  /** For the waypoint reporter, the upstream workload. */
  endpointPeer: WorkloadMetadata | undefined;
  disableHostHeaderFallback: boolean;
  clusterService(name: string): IstioService | undefined;
}

/**
 * What a finished request (or a TCP connection) tells the labels besides the exchanged peers.
 * Each field is the same for every request of a connection to one destination, which is what
 * lets istio.stats reuse a series without rebuilding its labels.
 */
export interface LabelSources {
  /** The Host header (HTTP only): destination_service when the cluster names none. */
  authority: string | undefined;
  routeName: string | undefined;
  cluster: string | undefined;
  /** URI SANs of the downstream TLS connection: the peer's and this proxy's (server side). */
  downstreamPeerSan: string;
  downstreamLocalSan: string;
  /** URI SANs of the upstream TLS connection: the upstream's and this proxy's (client side). */
  upstreamPeerSan: string;
  upstreamLocalSan: string;
  /** The upstream endpoint's `istio.workload` metadata: the client side's peer when exchange found none. */
  endpointWorkload: WorkloadMetadata | undefined;
}

function or(v: string | undefined, fallback: string): string {
  return v ? v : fallback;
}

/** The sources of a finished HTTP request. */
export function requestLabelSources(ctx: RequestContext): LabelSources {
  const info = ctx.info;
  const tls = ctx.conn.tls;
  const up = info.upstreamTls;
  return {
    authority: ctx.authority,
    routeName: info.routeName,
    cluster: info.upstreamCluster,
    downstreamPeerSan: tls?.peerUriSan ?? "",
    downstreamLocalSan: tls?.localUriSan ?? "",
    upstreamPeerSan: up?.peerUriSan ?? "",
    upstreamLocalSan: up?.localUriSan ?? "",
    endpointWorkload: info.upstreamWorkload,
  };
}

/** connection_security_policy: known on the server side only, as in Istio. */
export function connectionSecurityPolicy(reporter: Reporter, sources: LabelSources): string {
  if (reporter === "source") return "unknown";
  return sources.downstreamPeerSan && sources.downstreamLocalSan ? "mutual_tls" : "none";
}

/**
 * The first 20 values of REQUEST_LABELS (reporter through destination_cluster): who talked to
 * whom. The rest depend on the request (HTTP) or are fixed (TCP).
 */
export function peerLabelValues(sources: LabelSources, inputs: LabelInputs): string[] {
  const { reporter, local } = inputs;
  let serviceHost = "";
  let serviceHostName = "";
  if (!inputs.disableHostHeaderFallback && sources.authority) serviceHost = serviceHostName = sources.authority;
  const cluster = sources.cluster;
  if (sources.routeName === "block_all") serviceHostName = "BlackHoleCluster";
  else if (sources.routeName === "allow_any") serviceHostName = "PassthroughCluster";
  else if (cluster !== undefined) {
    if (SPECIAL_CLUSTERS.has(cluster)) serviceHostName = cluster;
    else {
      const svc = inputs.clusterService(cluster);
      if (svc) {
        serviceHost = svc.host;
        serviceHostName = svc.name;
      }
    }
  }
  const server = reporter !== "source";
  const peerSan = server ? sources.downstreamPeerSan : sources.upstreamPeerSan;
  const localSan = server ? sources.downstreamLocalSan : sources.upstreamLocalSan;
  // Istio's client side falls back to the endpoint's istio.workload metadata (EDS) when the upstream sent none.
  const peer = inputs.peer ?? (server ? undefined : sources.endpointWorkload);
  const peerNamespace = or(peerSan ? namespaceOfPrincipal(peerSan) : "", peer?.namespace ?? "");
  if (server) {
    const source = [
      or(peer?.workloadName, "unknown"),
      or(peer?.canonicalName, "unknown"),
      or(peer?.canonicalRevision, "latest"),
      or(peerNamespace, "unknown"),
      or(peerSan, "unknown"),
      or(peer?.appName, "unknown"),
      or(peer?.appVersion, "unknown"),
      or(peer?.clusterId, "unknown"),
    ];
    let destination: string[];
    if (reporter === "waypoint") {
      const ep = inputs.endpointPeer;
      const canonical = or(ep?.canonicalName, "unknown");
      destination = [
        or(ep?.workloadName, "unknown"),
        or(ep?.namespace, "unknown"),
        "unknown",
        or(ep?.appName, "unknown"),
        or(ep?.appVersion, "unknown"),
        or(serviceHost, canonical),
        canonical,
        or(ep?.canonicalRevision, "unknown"),
        or(serviceHostName, canonical),
      ];
    } else {
      destination = [
        local.workloadName,
        local.namespace,
        or(localSan, "unknown"),
        local.appName,
        local.appVersion,
        or(serviceHost, local.canonicalName),
        local.canonicalName,
        local.canonicalRevision,
        or(serviceHostName, local.canonicalName),
      ];
    }
    return [reporter, ...source, ...destination, local.namespace, local.clusterId];
  }
  return [
    reporter,
    local.workloadName,
    local.canonicalName,
    local.canonicalRevision,
    local.namespace,
    or(localSan, "unknown"),
    local.appName,
    local.appVersion,
    local.clusterId,
    or(peer?.workloadName, "unknown"),
    or(peerNamespace, "unknown"),
    or(peerSan, "unknown"),
    or(peer?.appName, "unknown"),
    or(peer?.appVersion, "unknown"),
    or(serviceHost, "unknown"),
    or(peer?.canonicalName, "unknown"),
    or(peer?.canonicalRevision, "latest"),
    or(serviceHostName, "unknown"),
    or(peerNamespace, "unknown"),
    or(peer?.clusterId, "unknown"),
  ];
}

/** The last 5 values of REQUEST_LABELS: request_protocol through connection_security_policy. */
export function requestOutcomeValues(ctx: RequestContext, securityPolicy: string): string[] {
  const info = ctx.info;
  const grpc = isGrpcRequest(ctx.headers);
  return [
    grpc ? "grpc" : "http",
    String(info.responseCode ?? 0),
    grpc ? grpcCallStatus(info) : "",
    info.responseFlags.length > 0 ? info.responseFlags.join(",") : "-",
    securityPolicy,
  ];
}
