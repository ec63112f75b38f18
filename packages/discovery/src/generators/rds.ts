// RDS. Sidecars: a route config per outbound HTTP port, named by the port
// ("9080"), with one virtual host per service (`host:port`, Istio's domain
// list) plus `allow_any` (or `block_all` under REGISTRY_ONLY). Gateways:
// `http.<bind port>` and `https.<port>.<portName>.<gateway>.<ns>` with a
// virtual host per VirtualService host bound to the Gateway. Proxyless gRPC: a route config per `host:port` listener.
import type { JsonObject } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { fromEnvoyJson } from "@weft/xds-api";
import { RouteConfigurationSchema } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb.js";
import { VirtualHostSchema, type VirtualHost } from "@weft/xds-api/gen/envoy/config/route/v3/route_components_pb.js";
import type { ProxyInfo, XdsResource } from "../contracts.js";
import { isHttp } from "../model/protocol.js";
import type { MeshService } from "../model/types.js";
import { labelsKey } from "../model/labels.js";
import { isObject } from "../source/field-checker.js";
import type { IstioConfig } from "../push-context/istio-config.js";
import { hostsIntersect } from "../push-context/hosts.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { egressAllowsOnPort, virtualServiceFor } from "../push-context/proxy-scope.js";
import { PASSTHROUGH } from "./cds.js";
import { gatewayServers, type GatewayServer } from "./gateway-servers.js";
import { defaultRoute, translateVirtualService, type RouteContext } from "./http-route.js";
import { messageResource, toResource } from "./resource.js";
import { EXPLICIT_ROUTE_NAME, explicitRouteConfig, isExplicitMode } from "./explicit-mode.js";

/** Istio's virtual host domains for a service on a port; short names only in the proxy's own namespace. */
export function serviceDomains(svc: MeshService, port: number, proxyNamespace: string, domain: string): string[] {
  const out: string[] = [];
  const both = (d: string): void => void out.push(d, `${d}:${port}`);
  both(svc.hostname);
  const suffix = `.svc.${domain}`;
  if (svc.kind === "Service" && svc.hostname.endsWith(suffix)) {
    if (svc.namespace === proxyNamespace) both(svc.name);
    both(`${svc.name}.${svc.namespace}.svc`);
    both(`${svc.name}.${svc.namespace}`);
  }
  if (svc.vip) both(svc.vip);
  return out;
}

/** Virtual hosts of one service for a proxyless gRPC client (its route config `host:port`). */
function grpcVirtualHosts(push: MeshPushContext, proxy: ProxyInfo, port: number, svc: MeshService): JsonObject[] {
  const scope = push.scope(proxy);
  const ctx: RouteContext = { push, proxy, port };
  const vs = virtualServiceFor(scope.virtualServices, svc.hostname, push.options.domain);
  const routes = vs ? translateVirtualService(ctx, vs) : [defaultRoute(ctx, svc.hostname, port)];
  if (routes.length === 0) return [];
  // gRPC matches the virtual host against the target authority `host:port` (and the short forms).
  return [{ name: `${svc.hostname}:${port}`, domains: serviceDomains(svc, port, proxy.namespace, push.options.domain), routes }];
}

/** Outbound HTTP ports of the proxy's visible services (the sidecar's route config names). */
export function sidecarHttpPorts(push: MeshPushContext, proxy: ProxyInfo): number[] {
  const ports = new Set<number>();
  const scope = push.scope(proxy);
  for (const svc of scope.services) for (const p of svc.ports) if (isHttp(p.protocol) && egressAllowsOnPort(scope, svc, p.port, proxy.namespace)) ports.add(p.port);
  return [...ports].sort((a, b) => a - b);
}

/** A server's `tls.httpsRedirect`: its virtual hosts answer plaintext requests with a 301 to https (require_tls ALL). */
function redirects(s: GatewayServer): boolean {
  return isObject(s.tls) && s.tls.httpsRedirect === true;
}

/**
 * A gateway route config (`http.<bind port>` or `https.<port>.<portName>.<gateway>.<ns>`):
 * a virtual host `<host>:<server port>` per host of a VirtualService bound to one of the
 * config's servers and admitted by that server's hosts, oldest VirtualService first.
 * As istiod: a redirecting server's virtual hosts get `require_tls: ALL`, and each of its
 * hosts no VirtualService covers gets a route-less virtual host that only redirects.
 */
function gatewayRouteConfig(push: MeshPushContext, proxy: ProxyInfo, routeName: string): JsonObject {
  const servers = gatewayServers(push, proxy).filter((s) => s.routeName === routeName);
  const gateways = new Set(servers.map((s) => s.gateway));
  const port = servers[0]?.port ?? 0;
  const ctx: RouteContext = { push, proxy, port, gateways };
  const vhosts = new Map<string, JsonObject>();
  const domainsOf = (h: string): string[] => (h === "*" ? ["*"] : [h, `${h}:*`]);
  for (const vs of push.istio.virtualServices) {
    const bound = (Array.isArray(vs.spec.gateways) ? vs.spec.gateways : []).filter((g): g is string => typeof g === "string").map((g) => (g.includes("/") ? g : `${vs.namespace}/${g}`));
    const matching = servers.filter((s) => bound.includes(s.gateway));
    if (matching.length === 0) continue;
    for (const h of (Array.isArray(vs.spec.hosts) ? vs.spec.hosts : []).filter((x): x is string => typeof x === "string")) {
      // A server host `ns/host` only admits VirtualServices from that namespace.
      const admitting = matching.filter((s) => s.hosts.some((sh) => (sh.namespace === "*" || sh.namespace === vs.namespace) && hostsIntersect(sh.host, h)));
      if (admitting.length === 0) continue;
      const name = `${h}:${port}`;
      const existing = vhosts.get(name);
      if (existing) {
        // the oldest VirtualService for a host wins, as in istiod; a redirecting server still marks it
        if (admitting.some(redirects)) existing.require_tls = "ALL";
        continue;
      }
      const routes = translateVirtualService(ctx, vs);
      if (routes.length === 0) continue;
      vhosts.set(name, { name, domains: domainsOf(h), routes, include_request_attempt_count: true, ...(admitting.some(redirects) ? { require_tls: "ALL" } : {}) });
    }
  }
  const taken = new Set([...vhosts.values()].flatMap((v) => v.domains as string[]));
  for (const s of servers.filter(redirects)) {
    for (const { host } of s.hosts) {
      const h = host.toLowerCase();
      if (taken.has(h)) continue;
      for (const d of domainsOf(h)) taken.add(d);
      vhosts.set(`${h}:${port}`, { name: `${h}:${port}`, domains: domainsOf(h), routes: [], include_request_attempt_count: true, require_tls: "ALL" });
    }
  }
  const virtualHosts = [...vhosts.values()];
  if (virtualHosts.length === 0) {
    virtualHosts.push({ name: `blackhole:${port}`, domains: ["*"], routes: [{ name: "default", match: { prefix: "/" }, direct_response: { status: 404 } }], include_request_attempt_count: true });
  }
  return { name: routeName, virtual_hosts: virtualHosts, validate_clusters: false };
}

export function generateRoutes(push: MeshPushContext, proxy: ProxyInfo, names?: readonly string[]): XdsResource[] {
  const out: XdsResource[] = [];
  if (proxy.generator === "grpc") {
    for (const svc of push.scope(proxy).services) {
      if (svc.resolution !== "EDS") continue;
      for (const p of svc.ports) {
        const name = `${svc.hostname}:${p.port}`;
        if (names && !names.includes(name)) continue;
        const vhosts = grpcVirtualHosts(push, proxy, p.port, svc);
        // grpc-js NACKs a route config with actions other than `route` or per-route
        // config for filters it lacks (CORS): keep what a gRPC client can apply.
        const virtualHosts = vhosts.map((v) => ({
          ...v,
          routes: (v.routes as JsonObject[]).filter((r) => r.route !== undefined).map((r) => grpcRoute(r)),
        }));
        out.push(toResource(RouteConfigurationSchema, name, { name, virtual_hosts: virtualHosts }));
      }
    }
    return out;
  }
  if (proxy.type === "router") {
    const routeNames = [...new Set(gatewayServers(push, proxy).flatMap((s) => (s.routeName ? [s.routeName] : [])))];
    for (const name of routeNames) {
      if (names && !names.includes(name)) continue;
      out.push(toResource(RouteConfigurationSchema, name, gatewayRouteConfig(push, proxy, name)));
    }
    return out;
  }
  if (isExplicitMode(proxy)) {
    if (names && !names.includes(EXPLICIT_ROUTE_NAME)) return out;
    return [explicitRouteConfig(sidecarRouteConfigs(push, proxy))];
  }
  return sidecarRouteConfigs(push, proxy, names);
}

function sidecarRouteConfigs(push: MeshPushContext, proxy: ProxyInfo, names?: readonly string[]): XdsResource[] {
  const out: XdsResource[] = [];
  const scope = push.scope(proxy);
  // A sidecar's route configs only depend on its labels through sourceLabels matches.
  const labelPart = scope.virtualServices.some(usesProxyLabels) ? labelsKey(proxy.labels) : "";
  for (const port of sidecarHttpPorts(push, proxy)) {
    const name = String(port);
    if (names && !names.includes(name)) continue;
    const key = `rds|${scope.scopeKey}|${port}|${labelPart}`;
    let rc = push.cache.get(key) as XdsResource | undefined;
    if (!rc) {
      rc = messageResource(RouteConfigurationSchema, name, create(RouteConfigurationSchema, { name, virtualHosts: sidecarVirtualHostMessages(push, proxy, port), validateClusters: false }));
      push.cache.set(key, rc);
    }
    out.push(rc);
  }
  return out;
}

function usesProxyLabels(vs: IstioConfig): boolean {
  return (Array.isArray(vs.spec.http) ? vs.spec.http : []).some((h) => isObject(h) && Array.isArray(h.match) && h.match.some((m) => isObject(m) && m.sourceLabels !== undefined));
}

/**
 * The sidecar's virtual hosts for one port as messages. A virtual host depends
 * on the scope (namespace + Sidecar), the service, the port and — only when its
 * VirtualService matches on sourceLabels — the proxy's labels; it is converted
 * once per push under that key, so 1000 sidecars x 500 services cost 500
 * conversions per namespace, not 500 000.
 */
function sidecarVirtualHostMessages(push: MeshPushContext, proxy: ProxyInfo, port: number): VirtualHost[] {
  const scope = push.scope(proxy);
  const ctx: RouteContext = { push, proxy, port };
  const used = new Set<string>();
  const out: VirtualHost[] = [];
  for (const svc of scope.services) {
    const sp = svc.ports.find((p) => p.port === port);
    if (!sp || !isHttp(sp.protocol) || !egressAllowsOnPort(scope, svc, port, proxy.namespace)) continue;
    const full = serviceDomains(svc, port, proxy.namespace, push.options.domain);
    // Envoy rejects a domain listed by two virtual hosts: the first service keeps it.
    const domains = full.filter((d) => !used.has(d));
    if (domains.length === 0) continue;
    for (const d of domains) used.add(d);
    const vs = virtualServiceFor(scope.virtualServices, svc.hostname, push.options.domain);
    const key = `vh|${scope.scopeKey}|${svc.hostname}|${svc.namespace}|${port}|${vs && usesProxyLabels(vs) ? labelsKey(proxy.labels) : ""}|${domains.length === full.length ? "" : domains.join(",")}`;
    let vh = push.cache.get(key) as VirtualHost | null | undefined;
    if (vh === undefined) {
      const routes = vs ? translateVirtualService(ctx, vs) : [defaultRoute(ctx, svc.hostname, port)];
      vh = routes.length === 0 ? null : fromEnvoyJson(VirtualHostSchema, { name: `${svc.hostname}:${port}`, domains, routes, include_request_attempt_count: true });
      push.cache.set(key, vh);
    }
    if (vh) out.push(vh);
  }
  const catchAllKey = `vh-catchall|${scope.outboundTrafficPolicy}`;
  let catchAll = push.cache.get(catchAllKey) as VirtualHost | undefined;
  if (!catchAll) {
    catchAll = fromEnvoyJson(
      VirtualHostSchema,
      scope.outboundTrafficPolicy === "REGISTRY_ONLY"
        ? { name: "block_all", domains: ["*"], routes: [{ name: "block_all", match: { prefix: "/" }, direct_response: { status: 502 } }], include_request_attempt_count: true }
        : {
            name: "allow_any",
            domains: ["*"],
            routes: [{ name: "allow_any", match: { prefix: "/" }, route: { cluster: PASSTHROUGH, timeout: "0s", max_stream_duration: { max_stream_duration: "0s", grpc_timeout_header_max: "0s" } } }],
            include_request_attempt_count: true,
          },
    );
    push.cache.set(catchAllKey, catchAll);
  }
  out.push(catchAll);
  return out;
}

function grpcRoute(r: JsonObject): JsonObject {
  const perFilter = r.typed_per_filter_config as JsonObject | undefined;
  if (!perFilter || !("envoy.filters.http.cors" in perFilter)) return r;
  const { "envoy.filters.http.cors": _cors, ...rest } = perFilter;
  const out: JsonObject = { ...r, typed_per_filter_config: rest };
  if (Object.keys(rest).length === 0) delete out.typed_per_filter_config;
  return out;
}
