// LDS, with Istio's listener names and shapes (compare
// shared/testdata/istio/sidecar-configdump-authz.yaml):
// sidecars get `virtualOutbound` (15001, use_original_dst, passthrough or
// blackhole catch-all), `virtualInbound` (15006, a chain per inbound port and
// passthrough chains), `0.0.0.0_<port>` HTTP listeners on RDS "<port>" and
// `<vip>_<port>` TCP listeners; gateways get `0.0.0.0_<bind port>` per Gateway
// server port on RDS `http.<bind port>`; proxyless gRPC gets api_listeners.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import type { ProxyInfo, XdsResource } from "../contracts.js";
import { isHttp } from "../model/protocol.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { BLACKHOLE, INBOUND_PASSTHROUGH, PASSTHROUGH } from "./cds.js";
import { ADS_CONFIG_SOURCE, accessLog, REQUEST_ID_EXTENSION, ROUTER_FILTER, FAULT_FILTER, SIDECAR_HTTP_FILTERS, socketAddress, tcpProxy, TRACING, typed } from "./envoy-json.js";
import { gatewayServers, type GatewayServer } from "./gateway-servers.js";
import { inboundPorts } from "./inbound-ports.js";
import { toResource } from "./resource.js";
import { routeTarget, tcpProxyTarget, tcpRoutesUseLabels } from "./tcp-route.js";
import { isObject } from "../source/field-checker.js";
import type { IstioConfig } from "../push-context/istio-config.js";
import { egressAllowsOnPort } from "../push-context/proxy-scope.js";
import { labelsKey } from "../model/labels.js";
import { chainMode, inboundListenerFilters, inboundSecurity, securedChains } from "../security/inbound-security.js";
import { gatewaySecurityFields } from "../security/gateway-security.js";
import { ISTIO_ALPN_FILTER } from "../security/tls-context.js";
import { type ListenerClass, withHttpTelemetry, withTcpStats } from "./telemetry-filters.js";
import { bindToProxyAddress, EXPLICIT_PROXY_PORT, EXPLICIT_ROUTE_NAME, explicitInboundListeners, explicitProxyListener, isExplicitMode, proxyBindAddress } from "./explicit-mode.js";

const HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ZERO_STREAM = { max_stream_duration: "0s", grpc_timeout_header_max: "0s" };

/** The listener class a chain's telemetry filters are for, and whether istio.stats is on for it (Telemetry API). */
interface Telemetry {
  cls: ListenerClass;
  stats: boolean;
}

function telemetryFor(push: MeshPushContext, proxy: ProxyInfo, cls: ListenerClass): Telemetry {
  const m = push.scope(proxy).metrics;
  return { cls, stats: cls === "inbound" ? m.server : m.client };
}

function hcm(body: JsonObject, log: JsonValue[] | undefined, t: Telemetry): JsonObject {
  return {
    name: "envoy.filters.network.http_connection_manager",
    typed_config: typed(HCM, {
      ...body,
      http_filters: withHttpTelemetry((body.http_filters as JsonValue[] | undefined) ?? SIDECAR_HTTP_FILTERS, t.cls, t.stats),
      tracing: TRACING,
      upgrade_configs: [{ upgrade_type: "websocket" }],
      stream_idle_timeout: "0s",
      normalize_path: true,
      request_id_extension: REQUEST_ID_EXTENSION,
      path_with_escaped_slashes_action: "KEEP_UNCHANGED",
      ...(log ? { access_log: log } : {}),
    }),
  };
}

function virtualOutbound(push: MeshPushContext, proxy: ProxyInfo, log: JsonValue[] | undefined): JsonObject {
  const catchAll = push.scope(proxy).outboundTrafficPolicy === "REGISTRY_ONLY" ? BLACKHOLE : PASSTHROUGH;
  const t = telemetryFor(push, proxy, "outbound");
  return {
    name: "virtualOutbound",
    address: socketAddress("0.0.0.0", 15001),
    filter_chains: [
      // Traffic addressed to 15001 itself would loop: blackhole it.
      { name: "virtualOutbound-blackhole", filter_chain_match: { destination_port: 15001 }, filters: withTcpStats([tcpProxy(BLACKHOLE, BLACKHOLE)], t.cls, t.stats) },
      { name: "virtualOutbound-catchall-tcp", filters: withTcpStats([tcpProxy(catchAll, catchAll, log)], t.cls, t.stats) },
    ],
    use_original_dst: true,
    traffic_direction: "OUTBOUND",
  };
}

function virtualInbound(push: MeshPushContext, proxy: ProxyInfo, log: JsonValue[] | undefined): JsonObject {
  const t = telemetryFor(push, proxy, "inbound");
  const chains: JsonObject[] = [{ name: "virtualInbound-blackhole", filter_chain_match: { destination_port: 15006 }, filters: withTcpStats([tcpProxy(BLACKHOLE, BLACKHOLE)], t.cls, t.stats) }];
  // PeerAuthentication decides the chains, AuthorizationPolicy/RequestAuthentication add filters (src/security).
  const sec = inboundSecurity(push, proxy);
  const httpFilters: JsonObject = sec.httpFilters.length > 0 ? { http_filters: [...sec.httpFilters, ...SIDECAR_HTTP_FILTERS] } : {};
  for (const p of inboundPorts(push, proxy)) {
    const cluster = `inbound|${p.port}||`;
    const filter = isHttp(p.protocol)
      ? hcm(
          {
            stat_prefix: `inbound_0.0.0.0_${p.port}`,
            route_config: {
              name: cluster,
              virtual_hosts: [
                {
                  name: `inbound|http|${p.servicePort.port}`,
                  domains: ["*"],
                  routes: [{ name: "default", match: { prefix: "/" }, route: { cluster, timeout: "0s", max_stream_duration: ZERO_STREAM }, decorator: { operation: `${p.service.hostname}:${p.servicePort.port}/*` } }],
                },
              ],
              validate_clusters: false,
            },
            server_name: "istio-envoy",
            use_remote_address: false,
            forward_client_cert_details: "APPEND_FORWARD",
            set_current_client_cert_details: { subject: true, dns: true, uri: true },
            ...httpFilters,
          },
          log,
          t,
        )
      : tcpProxy(cluster, cluster, log);
    const http = isHttp(p.protocol);
    chains.push(...securedChains(sec, chainMode(sec, p.port), { name: `0.0.0.0_${p.port}`, match: { destination_port: p.port }, http, filters: http ? [filter] : withTcpStats([...sec.networkFilters, filter], t.cls, t.stats) }));
  }
  const anyAddress = [{ address_prefix: "0.0.0.0", prefix_len: 0 }];
  const passthroughMode = chainMode(sec, undefined);
  chains.push(...securedChains(sec, passthroughMode, {
    name: "virtualInbound-catchall-http",
    match: { prefix_ranges: anyAddress },
    http: true,
    catchAll: true,
    filters: [
      hcm(
        {
          stat_prefix: "inbound_0.0.0.0_0",
          route_config: {
            name: INBOUND_PASSTHROUGH,
            virtual_hosts: [{ name: "inbound|http|0", domains: ["*"], routes: [{ name: "default", match: { prefix: "/" }, route: { cluster: INBOUND_PASSTHROUGH, timeout: "0s", max_stream_duration: ZERO_STREAM }, decorator: { operation: ":0/*" } }] }],
            validate_clusters: false,
          },
          server_name: "istio-envoy",
          use_remote_address: false,
          forward_client_cert_details: "APPEND_FORWARD",
          set_current_client_cert_details: { subject: true, dns: true, uri: true },
          ...httpFilters,
        },
        log,
        t,
      ),
    ],
  }));
  chains.push(...securedChains(sec, passthroughMode, { name: "virtualInbound", match: { prefix_ranges: anyAddress }, http: false, catchAll: true, filters: withTcpStats([...sec.networkFilters, tcpProxy(INBOUND_PASSTHROUGH, INBOUND_PASSTHROUGH, log)], t.cls, t.stats) }));
  return {
    name: "virtualInbound",
    address: socketAddress("0.0.0.0", 15006),
    filter_chains: chains,
    listener_filters: inboundListenerFilters(),
    listener_filters_timeout: "0s",
    continue_on_listener_filters_timeout: true,
    traffic_direction: "INBOUND",
  };
}

function tcpFilter(target: JsonObject, log: JsonValue[] | undefined): JsonObject {
  return { name: "envoy.filters.network.tcp_proxy", typed_config: typed("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", { ...target, ...(log ? { access_log: log } : {}) }) };
}

function outboundListeners(push: MeshPushContext, proxy: ProxyInfo, log: JsonValue[] | undefined): JsonObject[] {
  const byPort = new Map<number, { http: boolean; tcp: Array<{ vip?: string; target: JsonObject }> }>();
  const scope = push.scope(proxy);
  for (const svc of scope.services) {
    for (const p of svc.ports) {
      if (p.protocol === "UDP" || !egressAllowsOnPort(scope, svc, p.port, proxy.namespace)) continue;
      const entry = byPort.get(p.port) ?? { http: false, tcp: [] };
      if (isHttp(p.protocol)) entry.http = true;
      else entry.tcp.push({ ...(svc.vip ? { vip: svc.vip } : {}), target: tcpProxyTarget(push, proxy, svc, p.port) });
      byPort.set(p.port, entry);
    }
  }
  const out: JsonObject[] = [];
  const tel = telemetryFor(push, proxy, "outbound");
  const tcpFilters = (target: JsonObject): JsonValue[] => withTcpStats([tcpFilter(target, log)], tel.cls, tel.stats);
  for (const [port, entry] of [...byPort].sort(([a], [b]) => a - b)) {
    const vipChains = (vip: string, target: JsonObject): JsonObject => ({ filter_chain_match: { prefix_ranges: [{ address_prefix: vip, prefix_len: 32 }] }, filters: tcpFilters(target) });
    if (entry.http) {
      // TCP services sharing an HTTP port are told apart by their VIP.
      const chains = entry.tcp.filter((t) => t.vip).map((t) => vipChains(t.vip!, t.target));
      chains.push({
        filters: [
          hcm(
            {
              stat_prefix: `outbound_0.0.0.0_${port}`,
              rds: { config_source: ADS_CONFIG_SOURCE, route_config_name: String(port) },
              use_remote_address: false,
              http_filters: [ISTIO_ALPN_FILTER, ...SIDECAR_HTTP_FILTERS],
            },
            log,
            tel,
          ),
        ],
      });
      out.push({ name: `0.0.0.0_${port}`, address: socketAddress("0.0.0.0", port), filter_chains: chains, traffic_direction: "OUTBOUND", bind_to_port: false });
      continue;
    }
    const seen = new Set<string>();
    for (const t of entry.tcp) {
      const address = t.vip ?? "0.0.0.0";
      const name = `${address}_${port}`;
      if (seen.has(name)) continue; // the first service (by hostname) owns a VIP:port
      seen.add(name);
      out.push({ name, address: socketAddress(address, port), filter_chains: [{ filters: tcpFilters(t.target) }], traffic_direction: "OUTBOUND", bind_to_port: false });
    }
  }
  return out;
}

/** VirtualServices bound to one of `gateways` (`ns/name`), oldest first. */
function boundVirtualServices(push: MeshPushContext, gateways: ReadonlySet<string>): IstioConfig[] {
  return push.istio.virtualServices.filter((vs) =>
    (Array.isArray(vs.spec.gateways) ? vs.spec.gateways : []).some((g) => typeof g === "string" && gateways.has(g.includes("/") ? g : `${vs.namespace}/${g}`)),
  );
}

/**
 * Gateway TLS PASSTHROUGH and TCP servers: routed by SNI (`tls` routes'
 * `sniHosts`, tls_inspector) or by port (`tcp` routes) straight to tcp_proxy.
 * TLS termination (SIMPLE/MUTUAL) needs SDS certificates and is not generated.
 */
function gatewayStreamListeners(push: MeshPushContext, proxy: ProxyInfo, servers: GatewayServer[], log: JsonValue[] | undefined): JsonObject[] {
  const out: JsonObject[] = [];
  const tel = telemetryFor(push, proxy, "gateway");
  const byPort = new Map<number, GatewayServer[]>();
  for (const s of servers) if (!s.http && (s.protocol === "TCP" || s.tlsMode === "PASSTHROUGH")) byPort.set(s.bindPort, [...(byPort.get(s.bindPort) ?? []), s]);
  for (const [bindPort, list] of [...byPort].sort(([a], [b]) => a - b)) {
    const port = list[0].port;
    const vss = boundVirtualServices(push, new Set(list.map((s) => s.gateway)));
    const chains: JsonObject[] = [];
    const tls = list.some((s) => s.tlsMode === "PASSTHROUGH");
    for (const vs of vss) {
      for (const r of (Array.isArray(vs.spec[tls ? "tls" : "tcp"]) ? (vs.spec[tls ? "tls" : "tcp"] as unknown[]) : []).filter(isObject)) {
        const matches = (Array.isArray(r.match) ? r.match : []).filter(isObject).filter((m) => typeof m.port !== "number" || m.port === port);
        if (Array.isArray(r.match) && r.match.length > 0 && matches.length === 0) continue;
        const target = routeTarget(push, proxy, vs, r, port);
        if (!target) continue;
        const sni = tls ? matches.flatMap((m) => (Array.isArray(m.sniHosts) ? m.sniHosts.filter((h): h is string => typeof h === "string") : [])) : [];
        if (tls && sni.length === 0) continue; // istiod requires sniHosts on tls routes
        chains.push({ ...(tls ? { filter_chain_match: { server_names: sni } } : {}), filters: withTcpStats([tcpFilter(target, log)], tel.cls, tel.stats) });
        if (!tls) break; // a TCP server has one destination: the first route that applies
      }
      if (!tls && chains.length > 0) break;
    }
    if (chains.length === 0) continue;
    out.push({
      name: `0.0.0.0_${bindPort}`,
      address: socketAddress("0.0.0.0", bindPort),
      filter_chains: chains,
      ...(tls ? { listener_filters: [{ name: "envoy.filters.listener.tls_inspector", typed_config: typed("envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector") }] } : {}),
      traffic_direction: "OUTBOUND",
    });
  }
  return out;
}

function gatewayListeners(push: MeshPushContext, proxy: ProxyInfo, log: JsonValue[] | undefined): JsonObject[] {
  const ports = new Map<number, boolean>();
  const servers = gatewayServers(push, proxy);
  for (const s of servers) if (s.http) ports.set(s.bindPort, true);
  const stream = gatewayStreamListeners(push, proxy, servers.filter((s) => !ports.has(s.bindPort)), log);
  const http = [...ports.keys()]
    .sort((a, b) => a - b)
    .map((port) => ({
      name: `0.0.0.0_${port}`,
      address: socketAddress("0.0.0.0", port),
      filter_chains: [
        {
          filters: [
            hcm(
              {
                stat_prefix: `outbound_0.0.0.0_${port}`,
                rds: { config_source: ADS_CONFIG_SOURCE, route_config_name: `http.${port}` },
                server_name: "istio-envoy",
                // The gateway is the edge: it owns X-Forwarded-For (istiod sets use_remote_address for gateways).
                use_remote_address: true,
                ...gatewaySecurityFields(push, proxy),
              },
              log,
              telemetryFor(push, proxy, "gateway"),
            ),
          ],
        },
      ],
      traffic_direction: "OUTBOUND",
    }));
  return [...http, ...stream].sort((a, b) => (a.address as { socket_address: { port_value: number } }).socket_address.port_value - (b.address as { socket_address: { port_value: number } }).socket_address.port_value);
}

function grpcListeners(push: MeshPushContext, proxy: ProxyInfo, names?: readonly string[]): XdsResource[] {
  const out: XdsResource[] = [];
  for (const svc of push.scope(proxy).services) {
    if (svc.resolution !== "EDS") continue; // see outboundClusters: gRPC resolves through EDS only
    for (const p of svc.ports) {
      const name = `${svc.hostname}:${p.port}`;
      if (names && !names.includes(name)) continue;
      out.push(
        toResource(ListenerSchema, name, {
          name,
          api_listener: {
            api_listener: typed(HCM, {
              stat_prefix: name,
              rds: { config_source: { ads: {}, resource_api_version: "V3" }, route_config_name: name },
              http_filters: [FAULT_FILTER, ROUTER_FILTER],
            }),
          },
        }),
      );
    }
  }
  return out;
}

export function generateListeners(push: MeshPushContext, proxy: ProxyInfo, names?: readonly string[]): XdsResource[] {
  if (proxy.generator === "grpc") return grpcListeners(push, proxy, names);
  const log = accessLog(push.scope(proxy).accessLogFile, push.options.accessLogEncoding);
  const convert = (list: JsonObject[]): XdsResource[] => list.map((l) => toResource(ListenerSchema, String(l.name), l));
  let all: XdsResource[];
  if (proxy.type === "router") {
    const gateway = gatewayListeners(push, proxy, log);
    all = convert(isExplicitMode(proxy) ? bindToProxyAddress(gateway, proxy) : gateway);
  } else if (isExplicitMode(proxy)) {
    const proxyListener = explicitProxyListener(
      proxy,
      hcm({ stat_prefix: `outbound_${proxyBindAddress(proxy)}_${EXPLICIT_PROXY_PORT}`, rds: { config_source: ADS_CONFIG_SOURCE, route_config_name: EXPLICIT_ROUTE_NAME }, use_remote_address: false }, log, telemetryFor(push, proxy, "outbound")),
    );
    all = convert([proxyListener, ...explicitInboundListeners(virtualInbound(push, proxy, log), proxy)]);
  } else {
    // Outbound listeners depend on the scope (namespace + Sidecar), not on the proxy's labels: share them.
    // A workload-selected Telemetry can turn client metrics off for some labels only, hence its flag in the key.
    const scope = push.scope(proxy);
    const key = `lds-out|${scope.scopeKey}|${tcpRoutesUseLabels(scope.virtualServices) ? labelsKey(proxy.labels) : ""}|${scope.metrics.client ? "stats" : "nostats"}`;
    let outbound = push.cache.get(key) as XdsResource[] | undefined;
    if (!outbound) {
      outbound = convert([...outboundListeners(push, proxy, log), virtualOutbound(push, proxy, log)]);
      push.cache.set(key, outbound);
    }
    all = [...outbound, ...convert([virtualInbound(push, proxy, log)])];
  }
  return names ? all.filter((r) => names.includes(r.name)) : all;
}
