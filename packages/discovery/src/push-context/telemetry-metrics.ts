// Whether the Telemetry API leaves Istio's standard metrics (the `prometheus`
// provider's istio.stats filter) on for a proxy, per reporting mode, as
// istiod's applicableTelemetries + mergeMetrics (pilot/pkg/model/telemetry.go)
// decide it:
//  - the Telemetries that apply are, in this order (later ones win): the root
//    namespace's namespace-wide one, the proxy namespace's namespace-wide one
//    (the oldest without selector/targetRefs), then those in the proxy's
//    namespace whose selector.matchLabels the proxy's labels include;
//  - with no `metrics` entries, the mesh's default providers apply (prometheus,
//    as istiod's chart sets meshConfig.defaultProviders.metrics);
//  - the last entry naming `providers` decides which providers are in scope
//    (one naming only others turns prometheus off); an entry without providers
//    inherits the previous entry's;
//  - an override that disables every metric (no match, or metric ALL_METRICS)
//    turns the provider off for its mode (CLIENT, SERVER or both); a later
//    override for that mode that is not such a blanket disable turns it back on.
// targetRefs (policy attachment) are not modelled: such a Telemetry applies to
// no sidecar here, and is not namespace-wide.
import type { ProxyInfo } from "../contracts.js";
import { matchLabels, type Labels } from "../model/labels.js";
import { isObject, type Json } from "../source/field-checker.js";
import type { IstioConfig } from "./istio-config.js";
import type { MeshPushContext } from "./push-context.js";

/** istio.stats on client-side (sidecar outbound, gateway) and server-side (sidecar inbound) listeners. */
export interface MetricsReporting {
  client: boolean;
  server: boolean;
}

const PROMETHEUS = "prometheus";
/** meshConfig.defaultProviders.metrics as Istio's installation sets it. */
const DEFAULT_PROVIDERS = [PROMETHEUS];

type Mode = "client" | "server";

function hasTargetRefs(spec: Json): boolean {
  return (Array.isArray(spec.targetRefs) && spec.targetRefs.length > 0) || isObject(spec.targetRef);
}

function selectorLabels(spec: Json): Labels | undefined {
  const sel = spec.selector;
  if (!isObject(sel) || !isObject(sel.matchLabels) || Object.keys(sel.matchLabels).length === 0) return undefined;
  return sel.matchLabels as Labels;
}

function namespaceWide(list: readonly IstioConfig[], ns: string): IstioConfig | undefined {
  return list.find((t) => t.namespace === ns && !selectorLabels(t.spec) && !hasTargetRefs(t.spec));
}

/** The Telemetries that apply to `proxy`, least specific first. */
export function applicableTelemetries(push: MeshPushContext, proxy: ProxyInfo): IstioConfig[] {
  const all = push.istio.other.filter((c) => c.kind === "Telemetry");
  const root = push.options.rootNamespace;
  const out: IstioConfig[] = [];
  const rootWide = namespaceWide(all, root);
  if (rootWide) out.push(rootWide);
  if (proxy.namespace !== root) {
    const nsWide = namespaceWide(all, proxy.namespace);
    if (nsWide) out.push(nsWide);
  }
  for (const t of all) {
    const labels = t.namespace === proxy.namespace ? selectorLabels(t.spec) : undefined;
    if (labels && matchLabels(labels, proxy.labels)) out.push(t);
  }
  return out;
}

function providerNames(entry: Json): string[] {
  return (Array.isArray(entry.providers) ? entry.providers : []).filter(isObject).map((p) => String(p.name ?? ""));
}

function modesOf(match: Json | undefined): Mode[] {
  const mode = match?.mode;
  if (mode === "CLIENT") return ["client"];
  if (mode === "SERVER") return ["server"];
  return ["client", "server"];
}

/** An override's match selects every metric: no metric match at all, or metric ALL_METRICS (istiod's isAllMetrics). */
function matchesAllMetrics(match: Json | undefined): boolean {
  if (match?.customMetric !== undefined) return false;
  return match?.metric === undefined || match.metric === "ALL_METRICS";
}

export function metricsReporting(push: MeshPushContext, proxy: ProxyInfo): MetricsReporting {
  const entries = applicableTelemetries(push, proxy).flatMap((t) => (Array.isArray(t.spec.metrics) ? t.spec.metrics.filter(isObject) : []));
  let inScope = DEFAULT_PROVIDERS;
  for (const e of entries) {
    const names = providerNames(e);
    if (names.length > 0) inScope = names;
  }
  if (!inScope.includes(PROMETHEUS)) return { client: false, server: false };
  const disabled: Record<Mode, boolean> = { client: false, server: false };
  let parent = DEFAULT_PROVIDERS;
  for (const e of entries) {
    const names = providerNames(e);
    parent = names.length > 0 ? names : parent;
    if (!parent.includes(PROMETHEUS)) continue;
    for (const o of Array.isArray(e.overrides) ? e.overrides.filter(isObject) : []) {
      const match = isObject(o.match) ? o.match : undefined;
      const blanketOff = matchesAllMetrics(match) && o.disabled === true;
      for (const m of modesOf(match)) disabled[m] = blanketOff;
    }
  }
  return { client: !disabled.client, server: !disabled.server };
}
