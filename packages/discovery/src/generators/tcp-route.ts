// VirtualService `tcp` routes → tcp_proxy's cluster or weighted_clusters, as
// istiod does for TCP services: the first tcp route whose match applies (port,
// sourceLabels, sourceNamespace) wins; without one, the service's own cluster.
import type { JsonObject } from "@bufbuild/protobuf";
import type { ProxyInfo } from "../contracts.js";
import { matchLabels, type Labels } from "../model/labels.js";
import type { MeshService } from "../model/types.js";
import { isObject, type Json } from "../source/field-checker.js";
import type { IstioConfig } from "../push-context/istio-config.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { virtualServiceFor } from "../push-context/proxy-scope.js";
import { outboundName } from "./cds.js";
import { resolveDestination } from "./http-route.js";

export function tcpRoutesUseLabels(list: readonly IstioConfig[]): boolean {
  return list.some((vs) => (Array.isArray(vs.spec.tcp) ? vs.spec.tcp : []).some((r) => isObject(r) && Array.isArray(r.match) && r.match.some((m) => isObject(m) && m.sourceLabels !== undefined)));
}

function applies(m: Json, proxy: ProxyInfo, port: number): boolean {
  if (typeof m.port === "number" && m.port !== port) return false;
  if (isObject(m.sourceLabels) && !matchLabels(m.sourceLabels as Labels, proxy.labels)) return false;
  if (typeof m.sourceNamespace === "string" && m.sourceNamespace !== proxy.namespace) return false;
  return true;
}

/** The tcp_proxy fields (`cluster` or `weighted_clusters`, and `stat_prefix`) for a TCP service port. */
export function tcpProxyTarget(push: MeshPushContext, proxy: ProxyInfo, svc: MeshService, port: number): JsonObject {
  const fallback = outboundName(port, "", svc.hostname);
  const vs = virtualServiceFor(push.scope(proxy).virtualServices, svc.hostname, push.options.domain);
  const routes = vs && Array.isArray(vs.spec.tcp) ? vs.spec.tcp.filter(isObject) : [];
  const route = routes.find((r) => !Array.isArray(r.match) || r.match.length === 0 || r.match.some((m) => isObject(m) && applies(m, proxy, port)));
  if (!vs || !route) return { stat_prefix: fallback, cluster: fallback };
  return routeTarget(push, proxy, vs, route, port) ?? { stat_prefix: fallback, cluster: fallback };
}

/** tcp_proxy fields for one VirtualService tcp/tls route's destinations (undefined when it has none). */
export function routeTarget(push: MeshPushContext, proxy: ProxyInfo, vs: IstioConfig, route: Json, port: number): JsonObject | undefined {
  const dests = Array.isArray(route.route) ? (route.route.filter((d) => isObject(d) && isObject(d.destination)) as Json[]) : [];
  if (dests.length === 0) return undefined;
  const ctx = { push, proxy, port };
  const resolved = dests.map((d) => ({ cluster: resolveDestination(ctx, d.destination as Json, vs.namespace).cluster, weight: typeof d.weight === "number" ? d.weight : 0 }));
  if (resolved.length === 1) return { stat_prefix: resolved[0].cluster, cluster: resolved[0].cluster };
  const weighted = resolved.filter((r) => r.weight > 0);
  return { stat_prefix: weighted[0]?.cluster ?? resolved[0].cluster, weighted_clusters: { clusters: weighted.map((r) => ({ name: r.cluster, weight: r.weight })) } };
}
