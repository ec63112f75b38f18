// The labels of Istio's standard HTTP metrics for one request, with the values
// and fallbacks Istio's stats filter gives them: who is local comes from the
// node metadata, who the peer is from metadata exchange (and its SPIFFE
// principal), the destination service from the cluster's istiod metadata or
// the Host header. The order is Istio's, so a series' labels read the same.
import type { RequestContext } from "../http/request-context.js";
import type { IstioService } from "../runtime/compile-cluster.js";
import { namespaceOfPrincipal, type WorkloadMetadata } from "./peer-metadata.js";
import { grpcStatusForHttp } from "../http/grpc-status.js";

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

/** Which side of the exchange this proxy reports for: Istio's reporter label. */
export type Reporter = "source" | "destination" | "waypoint";

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

function headerString(v: string | string[] | undefined): string | undefined {
  return typeof v === "string" ? v : v?.[0];
}

function grpcStatus(ctx: RequestContext): string {
  const info = ctx.info;
  const s = headerString(info.responseTrailers?.["grpc-status"]) ?? headerString(info.responseHeaders?.["grpc-status"]);
  if (s !== undefined) return s;
  const code = info.responseCode;
  return code ? grpcStatusForHttp(code) : "";
}

function or(v: string | undefined, fallback: string): string {
  return v ? v : fallback;
}

/** The 25 label values of REQUEST_LABELS for a finished request. */
export function requestLabelValues(ctx: RequestContext, inputs: LabelInputs): string[] {
  const { reporter, local, peer } = inputs;
  const info = ctx.info;
  let serviceHost = "";
  let serviceHostName = "";
  if (!inputs.disableHostHeaderFallback && ctx.authority) serviceHost = serviceHostName = ctx.authority;
  const cluster = info.upstreamCluster;
  if (info.routeName === "block_all") serviceHostName = "BlackHoleCluster";
  else if (info.routeName === "allow_any") serviceHostName = "PassthroughCluster";
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
  const tls = ctx.conn.tls;
  // The client side has no view of the upstream's certificate here: its principals stay unknown.
  const peerSan = server ? (tls?.peerUriSan ?? "") : "";
  const localSan = server ? (tls?.localUriSan ?? "") : "";
  const peerNamespace = or(peerSan ? namespaceOfPrincipal(peerSan) : "", peer?.namespace ?? "");
  const grpc = (headerString(ctx.headers["content-type"]) ?? "").startsWith("application/grpc");
  const tail = [
    grpc ? "grpc" : "http",
    String(info.responseCode ?? 0),
    grpc ? grpcStatus(ctx) : "",
    info.responseFlags.length > 0 ? info.responseFlags.join(",") : "-",
    server ? (peerSan && localSan ? "mutual_tls" : "none") : "unknown",
  ];
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
    return [reporter, ...source, ...destination, local.namespace, local.clusterId, ...tail];
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
    ...tail,
  ];
}
