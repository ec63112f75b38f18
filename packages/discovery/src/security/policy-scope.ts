// Which security policies apply to a workload, as istiod scopes them: a policy
// in the root namespace without a selector applies mesh-wide, one in the
// workload's namespace without a selector to the namespace, one with
// `selector.matchLabels` to the workloads it matches (for AuthorizationPolicy
// and RequestAuthentication a selector in the root namespace reaches every
// namespace). Also the trust domains and SPIFFE ids these policies speak of.
import { matchLabels, type Labels } from "../model/labels.js";
import type { MeshService } from "../model/types.js";
import type { IstioConfig } from "../push-context/istio-config.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { isObject } from "../source/field-checker.js";

export type SecurityKind = "PeerAuthentication" | "AuthorizationPolicy" | "RequestAuthentication";

export function policiesOf(push: MeshPushContext, kind: SecurityKind): IstioConfig[] {
  const key = `sec-kind|${kind}`;
  let list = push.cache.get(key) as IstioConfig[] | undefined;
  if (!list) {
    list = push.istio.other.filter((c) => c.kind === kind);
    push.cache.set(key, list);
  }
  return list;
}

/** `spec.selector.matchLabels`, or undefined when the policy has no selector (an empty selector selects all, as Kubernetes). */
export function selectorOf(c: IstioConfig): Labels | undefined {
  const sel = c.spec.selector;
  if (!isObject(sel)) return undefined;
  return (isObject(sel.matchLabels) ? sel.matchLabels : {}) as Labels;
}

export interface WorkloadRef {
  namespace: string;
  labels: Labels;
}

/** The policies of `kind` that apply to a workload (store order: oldest first). */
export function policiesFor(push: MeshPushContext, kind: SecurityKind, w: WorkloadRef): IstioConfig[] {
  const root = push.options.rootNamespace;
  // istiod's ListAuthorizationPolicies / getConfigsForWorkload: the root namespace's and the
  // workload namespace's policies whose selector (if any) matches. (PeerAuthentication has
  // its own composition: peer-authentication.ts.)
  return policiesOf(push, kind).filter((c) => {
    if (c.namespace !== w.namespace && c.namespace !== root) return false;
    const sel = selectorOf(c);
    return !sel || matchLabels(sel, w.labels);
  });
}

export function trustDomains(push: MeshPushContext): string[] {
  return [push.options.trustDomain, ...push.options.trustDomainAliases.filter((a) => a !== push.options.trustDomain)];
}

export function spiffeOf(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/**
 * The identities a client should accept from a service's endpoints (istiod's
 * service accounts of a service): every endpoint's service account, in every
 * trust domain the mesh accepts, sorted — http-config-dump.json's SAN list.
 */
export function serviceSans(push: MeshPushContext, svc: MeshService): string[] {
  const set = new Set<string>();
  for (const e of svc.endpoints) {
    if (svc.kind === "ServiceEntry" && !e.tlsMode) continue; // external endpoints have no mesh identity
    for (const td of trustDomains(push)) set.add(spiffeOf(td, svc.namespace, e.serviceAccount));
  }
  return [...set].sort();
}
