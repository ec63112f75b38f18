// AuthorizationPolicy → the RBAC filters of a workload's inbound chains, as
// istiod's authz builder emits them: one filter per action in the order AUDIT
// (action LOG), DENY, ALLOW — so DENY is decided before ALLOW, and any ALLOW
// policy makes everything it does not allow denied. HTTP chains get
// envoy.filters.http.rbac, TCP chains envoy.filters.network.rbac (stat_prefix
// `tcp.`). A policy without rules contributes a never-matching entry (ALLOW:
// deny all); CUSTOM has no extension provider in Weft, so like istiod with a
// bad provider it is enforced as DENY of its own rules (fail closed) and the
// error is reported by check-security.ts.
import type { JsonObject } from "@bufbuild/protobuf";
import { labelsKey } from "../model/labels.js";
import type { IstioConfig } from "../push-context/istio-config.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { typed } from "../generators/envoy-json.js";
import { compileRule, MATCH_NEVER, rbacPolicyName, type RbacAction } from "./authz-rule.js";
import { policiesFor, trustDomains, type WorkloadRef } from "./policy-scope.js";

export function rbacActionOf(c: IstioConfig): RbacAction {
  const a = c.spec.action;
  if (a === undefined || a === "ALLOW") return "ALLOW";
  if (a === "AUDIT") return "LOG";
  // DENY, CUSTOM without a provider, and an action we cannot read: enforced as DENY (fail closed).
  return "DENY";
}

/** The RBAC `rules` per action for a workload; only actions with policies appear. */
function rbacRules(push: MeshPushContext, w: WorkloadRef, issuers: readonly string[], forTCP: boolean): Map<RbacAction, JsonObject> {
  const byAction = new Map<RbacAction, Record<string, JsonObject>>();
  const tds = trustDomains(push);
  for (const p of policiesFor(push, "AuthorizationPolicy", w)) {
    const action = rbacActionOf(p);
    const policies = byAction.get(action) ?? {};
    byAction.set(action, policies);
    const rules = Array.isArray(p.spec.rules) ? p.spec.rules : undefined;
    if (!rules || rules.length === 0) {
      if (p.spec.rules !== undefined && !Array.isArray(p.spec.rules) && action !== "ALLOW") {
        // Unreadable rules on a DENY/AUDIT policy: apply it to everything (fail closed).
        policies[rbacPolicyName(p.namespace, p.name, 0)] = { permissions: [{ any: true }], principals: [{ any: true }] };
      } else policies[rbacPolicyName(p.namespace, p.name, 0)] = MATCH_NEVER;
      continue;
    }
    rules.forEach((r, i) => {
      const compiled = compileRule(r, `spec.rules[${i}]`, { action, forTCP, trustDomains: tds, issuers });
      if (compiled.policy) policies[rbacPolicyName(p.namespace, p.name, i)] = compiled.policy;
    });
  }
  const out = new Map<RbacAction, JsonObject>();
  for (const action of ["LOG", "DENY", "ALLOW"] as const) {
    const policies = byAction.get(action);
    if (policies) out.set(action, { ...(action === "ALLOW" ? {} : { action }), policies });
  }
  return out;
}

function cached<T>(push: MeshPushContext, key: string, make: () => T): T {
  if (push.cache.has(key)) return push.cache.get(key) as T;
  const v = make();
  push.cache.set(key, v);
  return v;
}

/** envoy.filters.http.rbac filters for the workload's HTTP inbound chains (empty when no policy applies). */
export function httpRbacFilters(push: MeshPushContext, w: WorkloadRef, issuers: readonly string[]): JsonObject[] {
  return cached(push, `authz-http|${w.namespace}|${labelsKey(w.labels)}|${issuers.join(",")}`, () =>
    [...rbacRules(push, w, issuers, false).values()].map((rules) => ({
      name: "envoy.filters.http.rbac",
      typed_config: typed("envoy.extensions.filters.http.rbac.v3.RBAC", { rules }),
    })),
  );
}

/** envoy.filters.network.rbac filters for the workload's TCP inbound chains. */
export function networkRbacFilters(push: MeshPushContext, w: WorkloadRef): JsonObject[] {
  return cached(push, `authz-tcp|${w.namespace}|${labelsKey(w.labels)}`, () =>
    [...rbacRules(push, w, [], true).values()].map((rules) => ({
      name: "envoy.filters.network.rbac",
      typed_config: typed("envoy.extensions.filters.network.rbac.v3.RBAC", { rules, stat_prefix: "tcp." }),
    })),
  );
}
