import { unpackAny } from "@weft/xds-api";
import type { Listener } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import type { FilterChain } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_components_pb.js";
import { HttpConnectionManagerSchema, type HttpConnectionManager } from "@weft/xds-api/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { TcpProxySchema, type TcpProxy } from "@weft/xds-api/gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";

export const LISTENER_HEADER = ["ADDRESS", "PORT", "MATCH", "DESTINATION"];

function listenerAddress(l: Listener): { address: string; port: string } {
  const a = l.address?.address;
  if (a?.case === "socketAddress") return { address: a.value.address, port: a.value.portSpecifier.case === "portValue" ? String(a.value.portSpecifier.value) : "-" };
  if (a?.case === "pipe") return { address: a.value.path, port: "-" };
  if (a?.case === "envoyInternalAddress") return { address: `envoy://${a.value.addressNameSpecifier.value ?? ""}`, port: "-" };
  return { address: "-", port: "-" };
}

/** istioctl's MATCH column: what a filter chain's match selects. */
export function describeMatch(chain: FilterChain | undefined): string {
  const m = chain?.filterChainMatch;
  if (!m) return "ALL";
  const parts: string[] = [];
  if (m.serverNames.length) parts.push(`SNI: ${m.serverNames.join(",")}`);
  if (m.transportProtocol) parts.push(`Trans: ${m.transportProtocol}`);
  if (m.applicationProtocols.length) parts.push(`App: ${m.applicationProtocols.join(",")}`);
  const prefixes = m.prefixRanges.map((p) => `${p.addressPrefix}/${p.prefixLen ?? 32}`);
  if (prefixes.length || m.destinationPort !== undefined) {
    parts.push(`Addr: ${prefixes.length ? prefixes.join(",") : "*"}${m.destinationPort !== undefined ? `:${m.destinationPort}` : ""}`);
  }
  return parts.length ? parts.join("; ") : "ALL";
}

/** istioctl's DESTINATION column: where the chain's last network filter sends traffic. */
export function describeDestination(chain: FilterChain | undefined): string {
  for (const filter of [...(chain?.filters ?? [])].reverse()) {
    const config = filter.configType.case === "typedConfig" ? filter.configType.value : undefined;
    if (!config) continue;
    if (config.typeUrl.endsWith("/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager")) {
      const hcm = unpackAny(config, HttpConnectionManagerSchema) as HttpConnectionManager;
      if (hcm.routeSpecifier.case === "rds") return `Route: ${hcm.routeSpecifier.value.routeConfigName}`;
      if (hcm.routeSpecifier.case === "routeConfig") {
        const first = hcm.routeSpecifier.value.virtualHosts[0]?.routes[0]?.match?.pathSpecifier;
        const path = first?.case === "prefix" ? `${first.value}*` : first?.case === "path" ? first.value : "/*";
        return `Inline Route: ${path}`;
      }
      return "HTTP";
    }
    if (config.typeUrl.endsWith("/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy")) {
      const tcp = unpackAny(config, TcpProxySchema) as TcpProxy;
      if (tcp.clusterSpecifier.case === "cluster") {
        const name = tcp.clusterSpecifier.value;
        return name.includes("|") ? `Cluster: ${name}` : name;
      }
      if (tcp.clusterSpecifier.case === "weightedClusters") return `WeightedClusters: ${tcp.clusterSpecifier.value.clusters.map((c) => `${c.name}(${c.weight})`).join(",")}`;
    }
  }
  return "Non-HTTP/Non-TCP";
}

export interface ListenerFilter {
  port?: string;
  address?: string;
}

export function listenerRows(listeners: readonly Listener[], filter: ListenerFilter = {}): string[][] {
  const rows: string[][] = [];
  for (const l of listeners) {
    const { address, port } = listenerAddress(l);
    if ((filter.port && port !== filter.port) || (filter.address && address !== filter.address)) continue;
    const chains = [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])];
    if (chains.length === 0 && l.apiListener) rows.push([address, port, "ALL", "API listener"]);
    for (const chain of chains) rows.push([address, port, chain === l.defaultFilterChain ? "ALL" : describeMatch(chain), describeDestination(chain)]);
  }
  return rows;
}
