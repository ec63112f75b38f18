// Istio's standard metrics filters, as istiod 1.22–1.26 puts them on sidecar
// and gateway listeners so the proxy can report istio_requests_total and
// istio_tcp_*; the proxy's istio.stats reads the reporter from the listener's
// traffic_direction, so no `reporter` is set (istiod sets one for waypoints only).
//  - HTTP: istio.metadata_exchange (peer_metadata) first in every HCM
//    (xdsfilters.SidecarInboundMetadataFilter / SidecarOutboundMetadataFilter,
//    the latter for gateways too), istio.stats right before the router
//    (Telemetries.HTTPFilters, after fault and cors);
//  - TCP: istio.stats right before tcp_proxy, after RBAC (buildMetricsNetworkFilters),
//    blackhole and passthrough chains included; on sidecar inbound chains the
//    TCP istio.metadata_exchange network filter first, before RBAC
//    (xdsfilters.TCPListenerMx, buildCompleteNetworkFilters / buildInboundBlackhole),
//    and on outbound clusters towards mesh mTLS the same filter as a cluster
//    filter (xdsfilters.TCPClusterMx): the in-band exchange over the
//    istio-peer-exchange ALPN that names a TCP connection's peer. istiod adds
//    them under PILOT_ENABLE_METADATA_EXCHANGE (default on), not with the
//    metrics: they must follow the ALPN, which the mesh's TLS contexts always
//    offer, since a peer that negotiated it and got no filter would pass the
//    other side's exchange bytes on to its app.
// istio.stats' config is stats.PluginConfig itself, not a TypedStruct, with
// disable_host_header_fallback on inbound and gateway listeners (istiod's
// generateStatsConfig / disableHostHeaderFallback).
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { typed } from "./envoy-json.js";

/** Istio's listener classes (pilot/pkg/networking ListenerClass). */
export type ListenerClass = "inbound" | "outbound" | "gateway";

const TYPED_STRUCT = "udpa.type.v1.TypedStruct";
const PEER_METADATA = "type.googleapis.com/io.istio.http.peer_metadata.Config";
const ROUTER = "envoy.filters.http.router";
const TCP_PROXY = "envoy.filters.network.tcp_proxy";

export const STATS_FILTER_NAME = "istio.stats";
export const MX_FILTER_NAME = "istio.metadata_exchange";

/** Peer metadata from the downstream's Istio headers or the workload registry, and ours sent back. */
export const SIDECAR_INBOUND_MX_FILTER: JsonObject = {
  name: MX_FILTER_NAME,
  typed_config: typed(TYPED_STRUCT, {
    type_url: PEER_METADATA,
    value: { downstream_discovery: [{ istio_headers: {} }, { workload_discovery: {} }], downstream_propagation: [{ istio_headers: {} }] },
  }),
};

/** Peer metadata of the upstream, and ours sent to it (sidecar outbound and gateways). */
export const SIDECAR_OUTBOUND_MX_FILTER: JsonObject = {
  name: MX_FILTER_NAME,
  typed_config: typed(TYPED_STRUCT, {
    type_url: PEER_METADATA,
    value: { upstream_discovery: [{ istio_headers: {} }, { workload_discovery: {} }], upstream_propagation: [{ istio_headers: {} }] },
  }),
};

/**
 * Istio's TCP metadata exchange filter, for listener chains and clusters alike. istiod ≤ 1.21 wrote
 * the message; 1.22+ writes a TypedStruct of it with enable_discovery, a lookup in Istio's workload
 * xDS that Weft does not serve, so the message form is kept (same field, same bytes).
 */
export const TCP_MX_FILTER: JsonObject = {
  name: MX_FILTER_NAME,
  typed_config: typed("envoy.tcp.metadataexchange.config.MetadataExchange", { protocol: "istio-peer-exchange" }),
};

/** istio.stats for a listener class; the same config serves the HTTP and the network filter. */
export function statsFilter(cls: ListenerClass): JsonObject {
  return { name: STATS_FILTER_NAME, typed_config: typed("stats.PluginConfig", cls === "outbound" ? {} : { disable_host_header_fallback: true }) };
}

/** `filters` (an HCM's http_filters) with peer metadata first and, when `stats`, istio.stats before the router. */
export function withHttpTelemetry(filters: readonly JsonValue[], cls: ListenerClass, stats: boolean): JsonValue[] {
  const out: JsonValue[] = [cls === "inbound" ? SIDECAR_INBOUND_MX_FILTER : SIDECAR_OUTBOUND_MX_FILTER];
  for (const f of filters) {
    if (stats && (f as JsonObject).name === ROUTER) out.push(statsFilter(cls));
    out.push(f);
  }
  return out;
}

/** A chain's network `filters` with istio.stats before tcp_proxy (when `stats`), and on inbound chains the TCP metadata exchange first (always). */
export function withTcpStats(filters: readonly JsonValue[], cls: ListenerClass, stats: boolean): JsonValue[] {
  const out = stats ? filters.flatMap((f) => ((f as JsonObject).name === TCP_PROXY ? [statsFilter(cls), f] : [f])) : [...filters];
  return cls === "inbound" ? [TCP_MX_FILTER, ...out] : out;
}
