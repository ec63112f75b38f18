// Gateway (router~) listeners, one `0.0.0.0_<bind port>` per merged port, as
// istiod's buildGatewayListeners (pilot/pkg/networking/core/gateway.go):
// - plaintext HTTP servers: one HCM chain on RDS `http.<bind port>`;
// - TLS ports: one filter chain per server, matched on its hosts as SNI
//   (`*` matches any), with tls_inspector:
//   HTTPS terminated → DownstreamTlsContext + HCM on RDS
//   `https.<port>.<portName>.<gateway>.<ns>`; TLS terminated → the same TLS
//   context + tcp_proxy to the first bound VirtualService `tcp` route;
//   PASSTHROUGH → a chain per bound VirtualService `tls` route (its sniHosts)
//   to tcp_proxy, no TLS context;
// - TCP servers: tcp_proxy to the first bound `tcp` route for the port.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { ProxyInfo } from "../contracts.js";
import { hostsIntersect } from "../push-context/hosts.js";
import type { IstioConfig } from "../push-context/istio-config.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { gatewaySecurityFields } from "../security/gateway-security.js";
import { gatewayTlsSocket } from "../security/gateway-tls.js";
import { isObject, type Json } from "../source/field-checker.js";
import { ADS_CONFIG_SOURCE, socketAddress, typed } from "./envoy-json.js";
import { gatewayServers, type GatewayServer } from "./gateway-servers.js";
import { HANDSHAKE_TIMEOUT, hcm, tcpFilter, telemetryFor } from "./listener-parts.js";
import { routeTarget } from "./tcp-route.js";
import { TCP_MX_FILTER, withTcpStats } from "./telemetry-filters.js";

/**
 * istiod's defaultGatewayTransportSocketConnectTimeout on chains that terminate TLS: a client
 * that does not finish its handshake within 15 s is closed (slow-handshake memory exhaustion).
 */

const TLS_INSPECTOR = { name: "envoy.filters.listener.tls_inspector", typed_config: typed("envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector") };

/** VirtualServices bound to a server's Gateway (`gateways: [name]` or `ns/name`), oldest first. */
export function boundVirtualServices(push: MeshPushContext, gateway: string): IstioConfig[] {
  return push.istio.virtualServices.filter((vs) =>
    (Array.isArray(vs.spec.gateways) ? vs.spec.gateways : []).some((g) => typeof g === "string" && (g.includes("/") ? g : `${vs.namespace}/${g}`) === gateway),
  );
}

/** istiod's pickMatchingGatewayHosts: some VirtualService host is admitted by a server host (and its namespace). */
export function admitsVirtualService(server: GatewayServer, vs: IstioConfig): boolean {
  const vsHosts = (Array.isArray(vs.spec.hosts) ? vs.spec.hosts : []).filter((h): h is string => typeof h === "string");
  return server.hosts.some((sh) => (sh.namespace === "*" || sh.namespace === vs.namespace) && vsHosts.some((h) => hostsIntersect(sh.host, h)));
}

/** istiod's l4SingleMatch: the match's port (if any) is the server's, its gateways (if any) include the server's. */
function l4Matches(m: Json, server: GatewayServer): boolean {
  if (typeof m.port === "number" && m.port !== server.port) return false;
  const gws = Array.isArray(m.gateways) ? m.gateways.filter((g): g is string => typeof g === "string") : [];
  return gws.length === 0 || gws.includes(server.gateway) || gws.includes(server.gatewayName);
}

const routesOf = (vs: IstioConfig, kind: "tcp" | "tls"): Json[] => (Array.isArray(vs.spec[kind]) ? (vs.spec[kind] as unknown[]).filter(isObject) : []);

/** The first bound `tcp` route whose matches apply to the server: its tcp_proxy fields. */
function tcpTarget(push: MeshPushContext, proxy: ProxyInfo, server: GatewayServer, hostsMustMatch: boolean): JsonObject | undefined {
  for (const vs of boundVirtualServices(push, server.gateway)) {
    if (hostsMustMatch && !admitsVirtualService(server, vs)) continue;
    for (const r of routesOf(vs, "tcp")) {
      const matches = (Array.isArray(r.match) ? r.match : []).filter(isObject);
      if (matches.length > 0 && !matches.some((m) => l4Matches(m, server))) continue;
      const target = routeTarget(push, proxy, vs, r, server.port);
      if (target) return target;
    }
  }
  return undefined;
}

/** `server_names` from a server's hosts; `*` matches any SNI (and any client without SNI). */
function sniMatch(hosts: readonly string[]): JsonObject {
  return hosts.length === 0 || hosts.includes("*") ? {} : { filter_chain_match: { server_names: [...hosts].sort() } };
}

export function gatewayListeners(push: MeshPushContext, proxy: ProxyInfo, log: JsonValue[] | undefined): JsonObject[] {
  const tel = telemetryFor(push, proxy, "gateway");
  const byPort = new Map<number, GatewayServer[]>();
  for (const s of gatewayServers(push, proxy)) byPort.set(s.bindPort, [...(byPort.get(s.bindPort) ?? []), s]);
  const httpHcm = (statPrefix: string, routeName: string): JsonObject =>
    hcm(
      {
        stat_prefix: statPrefix,
        rds: { config_source: ADS_CONFIG_SOURCE, route_config_name: routeName },
        server_name: "istio-envoy",
        // The gateway is the edge: it owns X-Forwarded-For (istiod sets use_remote_address for gateways).
        use_remote_address: true,
        ...gatewaySecurityFields(push, proxy),
      },
      log,
      tel,
    );
  const tcpFilters = (target: JsonObject): JsonValue[] => withTcpStats([tcpFilter(target, log)], tel.cls, tel.stats);
  const out: JsonObject[] = [];
  for (const [bindPort, servers] of [...byPort].sort(([a], [b]) => a - b)) {
    const listener = (chains: JsonObject[], tls: boolean): JsonObject => ({
      name: `0.0.0.0_${bindPort}`,
      address: socketAddress("0.0.0.0", bindPort),
      filter_chains: chains,
      ...(tls ? { listener_filters: [TLS_INSPECTOR] } : {}),
      traffic_direction: "OUTBOUND",
    });
    const first = servers[0];
    if (first.kind === "http") {
      out.push(listener([{ filters: [httpHcm(`outbound_0.0.0.0_${bindPort}`, first.routeName!)] }], false));
      continue;
    }
    if (first.kind === "tcp") {
      // istiod takes the first tcp route of any bound VirtualService, whatever its hosts.
      const target = tcpTarget(push, proxy, first, false);
      if (target) out.push(listener([{ filters: tcpFilters(target) }], false));
      continue;
    }
    const chains: JsonObject[] = [];
    const seenSni = new Set<string>();
    for (const s of servers) {
      if (s.kind === "https") {
        chains.push({ ...sniMatch(s.sniHosts), transport_socket: gatewayTlsSocket(s.tls!, false), ...HANDSHAKE_TIMEOUT, filters: [httpHcm(s.name ?? `outbound_0.0.0.0_${bindPort}`, s.routeName!)] });
      } else if (s.kind === "tls") {
        const target = tcpTarget(push, proxy, s, true);
        // ISTIO_MUTUAL offers in-mesh clients istio-peer-exchange, so the chain must read (and strip)
        // their exchange header, as istiod's buildMetadataExchangeNetworkFiltersForTCPIstioMTLSGateway.
        const mx = isObject(s.tls) && s.tls.mode === "ISTIO_MUTUAL" ? [TCP_MX_FILTER] : [];
        if (target) chains.push({ ...sniMatch(s.sniHosts), transport_socket: gatewayTlsSocket(s.tls!, true), ...HANDSHAKE_TIMEOUT, filters: [...mx, ...tcpFilters(target)] });
      } else if (s.kind === "passthrough") {
        for (const vs of boundVirtualServices(push, s.gateway)) {
          for (const r of routesOf(vs, "tls")) {
            const matches = (Array.isArray(r.match) ? r.match : []).filter(isObject).filter((m) => l4Matches(m, s));
            const target = matches.length > 0 ? routeTarget(push, proxy, vs, r, s.port) : undefined;
            if (!target) continue;
            for (const m of matches) {
              // istiod requires sniHosts on tls routes; Envoy rejects two chains with the same SNI match.
              const sni = (Array.isArray(m.sniHosts) ? m.sniHosts : []).filter((h): h is string => typeof h === "string" && !seenSni.has(h));
              if (sni.length === 0) continue;
              for (const h of sni) seenSni.add(h);
              chains.push({ filter_chain_match: { server_names: sni }, filters: tcpFilters(target) });
            }
          }
        }
      }
    }
    if (chains.length > 0) out.push(listener(chains, true));
  }
  return out;
}
