// What changed between two object sets, in the terms the server pushes by:
// which kinds, whether only endpoints moved (EDS-only push, as istiod's
// EndpointShards updates), which service FQDNs' endpoints changed, and which
// Secrets changed (SDS-only pushes, as istiod's Secret updates are not full).
import type { ConfigChange, ConfigObject } from "../contracts.js";
import { isObject } from "./field-checker.js";
import { ENDPOINT_KINDS } from "./kinds.js";
import { matchLabels, type Labels } from "../model/labels.js";

const keyOf = (o: ConfigObject): string => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;

export function diffObjects(before: readonly ConfigObject[], after: readonly ConfigObject[], domain: string): ConfigChange {
  const old = new Map(before.map((o) => [keyOf(o), o]));
  const now = new Map(after.map((o) => [keyOf(o), o]));
  const changed: Array<{ old?: ConfigObject; now?: ConfigObject }> = [];
  for (const [k, o] of now) {
    const prev = old.get(k);
    // Unchanged files keep their ConfigObject instances: identity is the cheap common case.
    if (prev !== o && (!prev || JSON.stringify(prev.raw) !== JSON.stringify(o.raw))) changed.push({ old: prev, now: o });
  }
  for (const [k, o] of old) if (!now.has(k)) changed.push({ old: o });

  const kinds = new Set<string>();
  const endpointServices = new Set<string>();
  const secrets = new Set<string>();
  let endpointsOnly = changed.length > 0;
  for (const c of changed) {
    const o = (c.now ?? c.old)!;
    kinds.add(o.kind);
    if (o.kind === "Secret") {
      // Only SDS reads Secrets: listeners and clusters name them, whatever they hold.
      secrets.add(`${o.metadata.namespace}/${o.metadata.name}`);
      continue;
    }
    if (!ENDPOINT_KINDS.has(o.kind)) {
      endpointsOnly = false;
      continue;
    }
    // A Pod or WorkloadEntry whose labels or identity changed can change which
    // services select it and the proxy's own config: not endpoints-only.
    if ((o.kind === "Pod" || o.kind === "WorkloadEntry") && c.old && c.now && identityOf(c.old) !== identityOf(c.now)) endpointsOnly = false;
    if ((o.kind === "Pod" || o.kind === "WorkloadEntry") && (!c.old || !c.now)) {
      // add/remove of a workload only moves endpoints, unless it is someone's proxy: we cannot tell here, stay conservative for Pods.
      if (o.kind === "Pod") endpointsOnly = false;
    }
    for (const side of [c.old, c.now]) if (side) for (const fqdn of servicesOf(side, after, before, domain)) endpointServices.add(fqdn);
  }
  return { kinds, endpointsOnly, endpointServices, ...(secrets.size > 0 ? { secrets } : {}) };
}

function identityOf(o: ConfigObject): string {
  const spec = isObject(o.spec) ? o.spec : {};
  return JSON.stringify([o.metadata.labels ?? {}, spec.serviceAccountName ?? spec.serviceAccount ?? ""]);
}

function servicesOf(o: ConfigObject, after: readonly ConfigObject[], before: readonly ConfigObject[], domain: string): string[] {
  const ns = o.metadata.namespace;
  if (o.kind === "Endpoints") return [`${o.metadata.name}.${ns}.svc.${domain}`];
  if (o.kind === "EndpointSlice") {
    const svc = o.metadata.labels?.["kubernetes.io/service-name"];
    return svc ? [`${svc}.${ns}.svc.${domain}`] : [];
  }
  const labels: Labels = (o.kind === "WorkloadEntry" && isObject(o.spec) && isObject(o.spec.labels) ? (o.spec.labels as Labels) : undefined) ?? o.metadata.labels ?? {};
  const out: string[] = [];
  for (const s of [...after, ...before]) {
    if (s.metadata.namespace !== ns || !isObject(s.spec)) continue;
    if (s.kind === "Service" && isObject(s.spec.selector) && matchLabels(s.spec.selector as Labels, labels)) out.push(`${s.metadata.name}.${ns}.svc.${domain}`);
    if (s.kind === "ServiceEntry" && isObject(s.spec.workloadSelector) && matchLabels((s.spec.workloadSelector as { labels?: Labels }).labels, labels)) {
      for (const h of Array.isArray(s.spec.hosts) ? s.spec.hosts : []) if (typeof h === "string") out.push(h);
    }
  }
  return out;
}
