// Explicit mode: sidecars whose traffic is not captured (node metadata
// INTERCEPTION_MODE=NONE, what `weftctl local up` uses without root). Every
// workload shares the host's network, so nothing may bind a wildcard address
// and there is no original destination to hand traffic off by:
//  - listeners bind the proxy's own IP (its INSTANCE_IP) instead of 0.0.0.0;
//  - inbound: one listener per inbound port on `<proxy ip>:<port>`, with the
//    chains virtualInbound would use for that port, to a STATIC inbound cluster
//    at the app's own address (node metadata WEFT_APP_ADDRESS);
//  - outbound: the app sends HTTP to `<proxy ip>:15001` as its HTTP proxy
//    (HTTP_PROXY, absolute-form requests), routed by Host on one route config
//    holding every outbound HTTP port's virtual hosts (`host:port` domains;
//    bare names only for port 80, which is what a client sends for it).
// TCP services and TLS origination from the app are out of reach this way.
import type { JsonObject } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { unpackAny } from "@weft/xds-api";
import { RouteConfigurationSchema, type RouteConfiguration } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb.js";
import { VirtualHostSchema, type VirtualHost } from "@weft/xds-api/gen/envoy/config/route/v3/route_components_pb.js";
import type { ProxyInfo, XdsResource } from "../contracts.js";
import { messageResource } from "./resource.js";
import { HANDSHAKE_TIMEOUT } from "./listener-parts.js";

/** The port apps use as their HTTP proxy in explicit mode (Istio's outbound capture port). */
export const EXPLICIT_PROXY_PORT = 15001;
/** The RDS name of the explicit HTTP proxy listener's route config. */
export const EXPLICIT_ROUTE_NAME = "explicit_http_proxy";

export function isExplicitMode(proxy: ProxyInfo): boolean {
  return proxy.metadata.INTERCEPTION_MODE === "NONE";
}

/** The address this proxy's listeners bind in explicit mode. */
export function proxyBindAddress(proxy: ProxyInfo): string {
  return proxy.ipAddresses[0] ?? "127.0.0.1";
}

/** Where the workload's app listens in explicit mode (it can't share the proxy's address and port). */
export function appAddress(proxy: ProxyInfo): string {
  const value = proxy.metadata.WEFT_APP_ADDRESS;
  return typeof value === "string" && value !== "" ? value : "127.0.0.1";
}

type SocketAddressJson = { socket_address: { address: string; port_value: number } };

/** Re-binds every wildcard listener address to the proxy's own IP. */
export function bindToProxyAddress(listeners: JsonObject[], proxy: ProxyInfo): JsonObject[] {
  const ip = proxyBindAddress(proxy);
  return listeners.map((l) => {
    const address = l.address as SocketAddressJson | undefined;
    if (!address || address.socket_address.address !== "0.0.0.0") return l;
    const port = address.socket_address.port_value;
    const name = l.name === `0.0.0.0_${port}` ? `${ip}_${port}` : l.name;
    return { ...l, name, address: { socket_address: { address: ip, port_value: port } } };
  });
}

/**
 * One bound listener per inbound port, made of virtualInbound's chains for it
 * (TLS and plaintext chains alike, so PeerAuthentication applies unchanged).
 */
export function explicitInboundListeners(virtualInbound: JsonObject, proxy: ProxyInfo): JsonObject[] {
  const ip = proxyBindAddress(proxy);
  const byPort = new Map<number, JsonObject[]>();
  for (const chain of (virtualInbound.filter_chains ?? []) as JsonObject[]) {
    const match = (chain.filter_chain_match ?? {}) as JsonObject;
    const port = match.destination_port;
    if (typeof port !== "number" || port === 15006) continue;
    const { destination_port: _port, ...rest } = match;
    const { filter_chain_match: _match, ...chainRest } = chain;
    const chains = byPort.get(port) ?? [];
    chains.push(Object.keys(rest).length > 0 ? { ...chainRest, filter_chain_match: rest } : chainRest);
    byPort.set(port, chains);
  }
  const listenerFilters = ((virtualInbound.listener_filters ?? []) as JsonObject[]).filter((f) => f.name !== "envoy.filters.listener.original_dst");
  return [...byPort].map(([port, chains]) => ({
    name: `${ip}_${port}`,
    address: { socket_address: { address: ip, port_value: port } },
    filter_chains: chains,
    ...(listenerFilters.length > 0 ? { listener_filters: listenerFilters, listener_filters_timeout: virtualInbound.listener_filters_timeout, continue_on_listener_filters_timeout: true } : {}),
    traffic_direction: "INBOUND",
  }));
}

/** The HTTP proxy listener apps reach through HTTP_PROXY. */
export function explicitProxyListener(proxy: ProxyInfo, hcmFilter: JsonObject): JsonObject {
  const ip = proxyBindAddress(proxy);
  return {
    name: `${ip}_${EXPLICIT_PROXY_PORT}`,
    address: { socket_address: { address: ip, port_value: EXPLICIT_PROXY_PORT } },
    // istiod's HTTP_PROXY listener is built like any outbound one: 15 s for a transport handshake.
    filter_chains: [{ ...HANDSHAKE_TIMEOUT, filters: [hcmFilter] }],
    traffic_direction: "OUTBOUND",
  };
}

/**
 * Merges the per-port sidecar route configs into the explicit proxy's one. A
 * domain names its port unless the port is 80; the last catch-all (allow_any /
 * block_all) can't pass through without an original destination, so unknown
 * hosts get a 502 that says why.
 */
export function explicitRouteConfig(perPort: readonly XdsResource[]): XdsResource {
  const virtualHosts: VirtualHost[] = [];
  const used = new Set<string>();
  for (const resource of perPort) {
    const port = Number(resource.name);
    const rc = unpackAny(resource.resource, RouteConfigurationSchema) as RouteConfiguration;
    for (const vh of rc.virtualHosts) {
      if (vh.domains.includes("*")) continue;
      const domains = vh.domains.filter((d) => (port === 80 || /:\d+$/.test(d) || d.startsWith("[")) && !used.has(d));
      if (domains.length === 0) continue;
      for (const d of domains) used.add(d);
      virtualHosts.push(create(VirtualHostSchema, { ...vh, domains }));
    }
  }
  virtualHosts.push(
    create(VirtualHostSchema, {
      name: "explicit_unknown_host",
      domains: ["*"],
      routes: [
        {
          name: "explicit_unknown_host",
          match: { pathSpecifier: { case: "prefix", value: "/" } },
          action: {
            case: "directResponse",
            value: { status: 502, body: { specifier: { case: "inlineString", value: "no mesh service for this host:port (explicit mode reaches mesh HTTP services only)\n" } } },
          },
        },
      ],
    }),
  );
  return messageResource(RouteConfigurationSchema, EXPLICIT_ROUTE_NAME, create(RouteConfigurationSchema, { name: EXPLICIT_ROUTE_NAME, virtualHosts, validateClusters: false }));
}
