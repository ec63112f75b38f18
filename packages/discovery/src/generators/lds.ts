// LDS, with Istio's listener names and shapes (compare
// shared/testdata/istio/sidecar-configdump-authz.yaml):
// sidecars get `virtualOutbound` (15001, use_original_dst, passthrough or
// blackhole catch-all), `virtualInbound` (15006, a chain per inbound port and
// passthrough chains), `0.0.0.0_<port>` HTTP listeners on RDS "<port>" and
// `<vip>_<port>` TCP listeners; gateways get `0.0.0.0_<bind port>` per Gateway
// server port (gateway-listeners.ts); proxyless gRPC gets api_listeners.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import type { ProxyInfo, XdsResource } from "../contracts.js";
import { isHttp } from "../model/protocol.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { BLACKHOLE, INBOUND_PASSTHROUGH, PASSTHROUGH } from "./cds.js";
import { ADS_CONFIG_SOURCE, accessLog, ROUTER_FILTER, FAULT_FILTER, SIDECAR_HTTP_FILTERS, socketAddress, tcpProxy, typed } from "./envoy-json.js";
import { gatewayListeners } from "./gateway-listeners.js";
import { HANDSHAKE_TIMEOUT, HCM, hcm, tcpFilter, telemetryFor } from "./listener-parts.js";
import { inboundPorts } from "./inbound-ports.js";
import { toResource } from "./resource.js";
import { tcpProxyTarget, tcpRoutesUseLabels } from "./tcp-route.js";
import { egressAllowsOnPort } from "../push-context/proxy-scope.js";
import { labelsKey } from "../model/labels.js";
import { chainMode, inboundListenerFilters, inboundSecurity, securedChains } from "../security/inbound-security.js";
import { ISTIO_ALPN_FILTER } from "../security/tls-context.js";
import { withTcpStats } from "./telemetry-filters.js";
import { bindToProxyAddress, EXPLICIT_PROXY_PORT, EXPLICIT_ROUTE_NAME, explicitInboundListeners, explicitProxyListener, isExplicitMode, proxyBindAddress } from "./explicit-mode.js";

const ZERO_STREAM = { max_stream_duration: "0s", grpc_timeout_header_max: "0s" };

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
    const vipChains = (vip: string, target: JsonObject): JsonObject => ({ filter_chain_match: { prefix_ranges: [{ address_prefix: vip, prefix_len: 32 }] }, ...HANDSHAKE_TIMEOUT, filters: tcpFilters(target) });
    if (entry.http) {
      // TCP services sharing an HTTP port are told apart by their VIP.
      const chains = entry.tcp.filter((t) => t.vip).map((t) => vipChains(t.vip!, t.target));
      chains.push({
        ...HANDSHAKE_TIMEOUT,
        filters: [
          hcm(
            {
              stat_prefix: `outbound_0.0.0.0_${port}`,
              rds: { config_source: ADS_CONFIG_SOURCE, route_config_name: String(port) },
              // istiod: features.UseRemoteAddress (PILOT_SIDECAR_USE_REMOTE_ADDRESS) on outbound HTTP only.
              use_remote_address: push.options.sidecarUseRemoteAddress,
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
      out.push({ name, address: socketAddress(address, port), filter_chains: [{ ...HANDSHAKE_TIMEOUT, filters: tcpFilters(t.target) }], traffic_direction: "OUTBOUND", bind_to_port: false });
    }
  }
  return out;
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
