// Istio's HTTP metadata exchange (`istio.metadata_exchange`: the peer_metadata
// filter, or the older null-VM Wasm plugin). Discovery reads a peer's identity
// from its x-envoy-peer-metadata headers and removes them, so the app never sees
// them; propagation adds this proxy's own. The peer found is kept in the
// stream's filter state under Istio's keys, where istio.stats reads it.
//
// Inbound sidecars discover the downstream peer from the request and tell it
// who they are in the response; outbound sidecars and gateways do the reverse.
import type { JsonObject } from "@bufbuild/protobuf";
import type { CompileContext, HttpFilter, TrafficDirection } from "../http-filter.js";
import type { Headers, RequestContext } from "../request-context.js";
import { decodePeerMetadata, encodePeerMetadata, PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER, type WorkloadMetadata } from "../../istio/peer-metadata.js";

/** Filter state keys Istio's filters use for the two peers. */
export const DOWNSTREAM_PEER = "wasm.downstream_peer";
export const UPSTREAM_PEER = "wasm.upstream_peer";

export interface PeerExchangeConfig {
  downstreamDiscovery: boolean;
  upstreamDiscovery: boolean;
  downstreamPropagation: boolean;
  upstreamPropagation: boolean;
}

/** The older Wasm plugin has no config: what it does follows the listener's direction. */
export function peerExchangeForDirection(direction: TrafficDirection | undefined): PeerExchangeConfig {
  const inbound = direction === "INBOUND";
  return { downstreamDiscovery: inbound, downstreamPropagation: inbound, upstreamDiscovery: !inbound, upstreamPropagation: !inbound };
}

/**
 * io.istio.http.peer_metadata.Config (as JSON): each of the four lists names methods; `istio_headers`
 * is the one a sidecar can use on its own. `workload_discovery` needs Istio's workload xDS and is reported.
 */
export function peerExchangeFromJson(value: JsonObject, cc: CompileContext): PeerExchangeConfig {
  const uses = (snake: string, camel: string): boolean => {
    const list = value[snake] ?? value[camel];
    if (!Array.isArray(list)) return false;
    let headers = false;
    for (const m of list) {
      if (m === null || typeof m !== "object" || Array.isArray(m)) continue;
      if ("istio_headers" in m || "istioHeaders" in m) headers = true;
      if ("workload_discovery" in m || "workloadDiscovery" in m) cc.report(`${cc.field}.${snake}.workload_discovery`, "peer discovery by workload xDS is not implemented; the istio_headers method is used");
    }
    return headers;
  };
  return {
    downstreamDiscovery: uses("downstream_discovery", "downstreamDiscovery"),
    upstreamDiscovery: uses("upstream_discovery", "upstreamDiscovery"),
    downstreamPropagation: uses("downstream_propagation", "downstreamPropagation"),
    upstreamPropagation: uses("upstream_propagation", "upstreamPropagation"),
  };
}

/** The peer a filter state holds under `key`, if metadata exchange found one. */
export function peerOf(ctx: RequestContext, key: string): WorkloadMetadata | undefined {
  return ctx.info.filterState?.[key] as WorkloadMetadata | undefined;
}

function takePeer(headers: Headers): WorkloadMetadata | undefined {
  const value = headers[PEER_METADATA_HEADER];
  if (value === undefined && headers[PEER_METADATA_ID_HEADER] === undefined) return undefined;
  delete headers[PEER_METADATA_HEADER];
  delete headers[PEER_METADATA_ID_HEADER];
  return decodePeerMetadata(value);
}

function keep(ctx: RequestContext, key: string, peer: WorkloadMetadata): void {
  (ctx.info.filterState ??= {})[key] = peer;
}

export function createPeerExchangeFilter(name: string, config: PeerExchangeConfig, node: { id: string; metadata: JsonObject } | undefined): HttpFilter {
  const own = encodePeerMetadata(node?.metadata ?? {});
  const ownId = node?.id ?? "";
  const { downstreamDiscovery, upstreamDiscovery, downstreamPropagation, upstreamPropagation } = config;
  return {
    name,
    decodeHeaders(ctx) {
      if (downstreamDiscovery) {
        const peer = takePeer(ctx.headers);
        if (peer) keep(ctx, DOWNSTREAM_PEER, peer);
      }
      if (upstreamPropagation) {
        ctx.headers[PEER_METADATA_HEADER] = own;
        ctx.headers[PEER_METADATA_ID_HEADER] = ownId;
      }
      return undefined;
    },
    encodeHeaders(ctx, _status, headers) {
      if (upstreamDiscovery) {
        const peer = takePeer(headers);
        if (peer) keep(ctx, UPSTREAM_PEER, peer);
      }
      if (downstreamPropagation) {
        headers[PEER_METADATA_HEADER] = own;
        headers[PEER_METADATA_ID_HEADER] = ownId;
      }
    },
  };
}
