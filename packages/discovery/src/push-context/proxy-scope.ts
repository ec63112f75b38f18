// What one kind of proxy (one configKey) sees: its Sidecar resource, the
// services and VirtualServices that pass exportTo and the Sidecar's egress
// hosts, its outbound traffic policy, the services that select it (inbound),
// and for gateways the Gateway servers that select it.
import type { ProxyInfo } from "../contracts.js";
import { matchLabels, type Labels } from "../model/labels.js";
import type { MeshService } from "../model/types.js";
import { isObject } from "../source/field-checker.js";
import { exportedTo, hostMatches, hostsIntersect, qualifyHost } from "./hosts.js";
import { exportToOf, type IstioConfig } from "./istio-config.js";
import type { MeshPushContext } from "./push-context.js";
import { metricsReporting, type MetricsReporting } from "./telemetry-metrics.js";

export interface EgressHost {
  namespace: string;
  host: string;
}

export interface ProxyScope {
  key: string;
  /**
   * What outbound config depends on: proxy type, generator, namespace and the
   * Sidecar in effect — not the labels. Outbound clusters, listeners and most
   * virtual hosts are shared by every proxy with the same scopeKey.
   */
  scopeKey: string;
  sidecar?: IstioConfig;
  egress: EgressHost[];
  /** Visible services, one per hostname, sorted by hostname. */
  services: MeshService[];
  /** VirtualServices for the mesh (sidecars) visible to this proxy, in precedence order. */
  virtualServices: IstioConfig[];
  outboundTrafficPolicy: "ALLOW_ANY" | "REGISTRY_ONLY";
  /** Services whose selector matches this proxy's workload. */
  inbound: MeshService[];
  /** Gateways whose selector matches (router proxies). */
  gateways: IstioConfig[];
  /** Where Envoy writes access logs for this proxy (meshConfig.accessLogFile or a Telemetry resource), if anywhere. */
  accessLogFile?: string;
  /** Whether Istio's standard metrics (istio.stats) are on, per the Telemetry API. */
  metrics: MetricsReporting;
}

/**
 * Access logging from the Telemetry API: the proxy namespace's Telemetry
 * without a selector, else the root namespace's. `accessLogging` entries turn
 * the default (Envoy file) provider on, `disabled: true` turns it off; with no
 * Telemetry, meshConfig.accessLogFile decides. Workload-selected Telemetry is
 * not applied (it would make outbound listeners per workload).
 */
function accessLogOf(push: MeshPushContext, ns: string): { file?: string; from: string } {
  const telemetries = push.istio.other.filter((c) => c.kind === "Telemetry" && !isObject(c.spec.selector));
  const t = telemetries.find((c) => c.namespace === ns) ?? telemetries.find((c) => c.namespace === push.options.rootNamespace);
  const fallback = push.options.accessLogFile;
  if (!t || !Array.isArray(t.spec.accessLogging) || t.spec.accessLogging.length === 0) return { ...(fallback ? { file: fallback } : {}), from: "" };
  const disabled = t.spec.accessLogging.some((l) => isObject(l) && l.disabled === true);
  const from = `${t.namespace}/${t.name}`;
  return disabled ? { from } : { file: fallback ?? "/dev/stdout", from };
}

function selectorOf(c: IstioConfig): Labels | undefined {
  const ws = c.spec.workloadSelector;
  return isObject(ws) && isObject(ws.labels) ? (ws.labels as Labels) : undefined;
}

export function findSidecar(push: MeshPushContext, proxy: ProxyInfo): IstioConfig | undefined {
  const inNs = push.istio.sidecars.filter((s) => s.namespace === proxy.namespace);
  return (
    inNs.find((s) => selectorOf(s) && matchLabels(selectorOf(s), proxy.labels)) ??
    inNs.find((s) => !selectorOf(s)) ??
    push.istio.sidecars.find((s) => s.namespace === push.options.rootNamespace && !selectorOf(s))
  );
}

/**
 * The Sidecar's egress hosts; with `port`, the hosts of the egress listener
 * bound to that port, else those of the egress listener without a port
 * (Istio: a port-specific egress listener owns its port).
 */
function egressOf(sidecar: IstioConfig | undefined, proxyNs: string, port?: number): EgressHost[] {
  const all = sidecar && Array.isArray(sidecar.spec.egress) ? sidecar.spec.egress.filter(isObject) : [];
  const portOf = (e: Record<string, unknown>): number | undefined => (isObject(e.port) && typeof e.port.number === "number" ? e.port.number : undefined);
  let egress = all;
  if (port !== undefined) {
    const exact = all.filter((e) => portOf(e) === port);
    egress = exact.length > 0 ? exact : all.filter((e) => portOf(e) === undefined);
    if (egress.length === 0) return all.length > 0 ? [{ namespace: "~", host: "*" }] : [{ namespace: "*", host: "*" }];
  }
  const hosts: EgressHost[] = [];
  for (const e of egress) {
    if (!Array.isArray(e.hosts)) continue;
    for (const h of e.hosts) {
      if (typeof h !== "string") continue;
      const [ns, host] = h.includes("/") ? h.split("/", 2) : ["*", h];
      // `.` is the Sidecar's (= the proxy's) namespace; `~` imports nothing.
      hosts.push({ namespace: ns === "." ? proxyNs : ns, host });
    }
  }
  return hosts.length > 0 ? hosts : [{ namespace: "*", host: "*" }];
}

export function egressAllows(egress: EgressHost[], namespace: string, host: string): boolean {
  return egress.some((e) => e.namespace !== "~" && (e.namespace === "*" || e.namespace === namespace) && hostsIntersect(e.host, host));
}

/** Whether a service may have outbound listeners/routes on `port` under the proxy's Sidecar. */
export function egressAllowsOnPort(scope: ProxyScope, svc: MeshService, port: number, proxyNs: string): boolean {
  if (!scope.sidecar) return true;
  return egressAllows(egressOf(scope.sidecar, proxyNs, port), svc.namespace, svc.hostname);
}

export function computeScope(push: MeshPushContext, proxy: ProxyInfo, key: string): ProxyScope {
  const ns = proxy.namespace;
  const sidecar = proxy.type === "sidecar" ? findSidecar(push, proxy) : undefined;
  const egress = egressOf(sidecar, ns);
  const byHost = new Map<string, MeshService>();
  for (const s of push.registry.services) {
    if (!exportedTo(s.exportTo, s.namespace, ns)) continue;
    if (!egressAllows(egress, s.namespace, s.hostname)) continue;
    const prev = byHost.get(s.hostname);
    if (!prev || (prev.namespace !== ns && s.namespace === ns)) byHost.set(s.hostname, s);
  }
  const services = [...byHost.values()].sort((a, b) => a.hostname.localeCompare(b.hostname));

  const virtualServices = push.istio.virtualServices.filter((vs) => {
    const gateways = Array.isArray(vs.spec.gateways) ? vs.spec.gateways : [];
    if (gateways.length > 0 && !gateways.includes("mesh")) return false;
    if (vs.namespace !== ns && !exportedTo(exportToOf(vs), vs.namespace, ns)) return false;
    const hosts = (Array.isArray(vs.spec.hosts) ? vs.spec.hosts : []).filter((h): h is string => typeof h === "string");
    return hosts.some((h) => egressAllows(egress, vs.namespace, qualifyHost(h, vs.namespace, push.options.domain)));
  });

  const otp = sidecar && isObject(sidecar.spec.outboundTrafficPolicy) ? sidecar.spec.outboundTrafficPolicy.mode : undefined;
  const outboundTrafficPolicy = otp === "REGISTRY_ONLY" || otp === "ALLOW_ANY" ? otp : push.options.outboundTrafficPolicy;

  const inbound = push.registry.services.filter((s) => s.namespace === ns && s.selector && Object.keys(s.selector).length > 0 && matchLabels(s.selector, proxy.labels));

  const gateways =
    proxy.type === "router"
      ? push.istio.gateways.filter((g) => {
          const sel = isObject(g.spec.selector) ? (g.spec.selector as Labels) : undefined;
          return matchLabels(sel, proxy.labels);
        })
      : [];
  const log = accessLogOf(push, ns);
  const scopeKey = `${proxy.type}|${proxy.generator ?? ""}|${ns}|${sidecar ? `${sidecar.namespace}/${sidecar.name}` : ""}|${log.from}`;
  const metrics = metricsReporting(push, proxy);
  return { key, scopeKey, ...(sidecar ? { sidecar } : {}), ...(log.file ? { accessLogFile: log.file } : {}), egress, services, virtualServices, outboundTrafficPolicy, inbound, gateways, metrics };
}

/** The first VirtualService (precedence order) in `list` with a host covering `hostname`. */
export function virtualServiceFor(list: readonly IstioConfig[], hostname: string, domain: string): IstioConfig | undefined {
  return list.find((vs) => (Array.isArray(vs.spec.hosts) ? vs.spec.hosts : []).some((h) => typeof h === "string" && hostMatches(qualifyHost(h, vs.namespace, domain), hostname)));
}
