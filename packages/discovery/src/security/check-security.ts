// Reports what the security generators cannot honour as written, with file,
// object and field, and what happens instead — always the closed side: an
// ALLOW rule that cannot be read is dropped (allows less, and an ALLOW
// policy left with nothing denies everything), a DENY rule's unreadable
// value widens it, a CUSTOM policy without an extension provider is enforced
// as DENY, a JWT issuer whose keys cannot be known rejects its tokens.
// Errors are listed on the push context (debug/configz); the objects stay.
import type { ConfigError } from "../contracts.js";
import type { Registry } from "../model/types.js";
import type { IstioConfig, IstioStore } from "../push-context/istio-config.js";
import type { ResolvedOptions } from "../push-context/push-context.js";
import { isObject } from "../source/field-checker.js";
import { compileRule } from "./authz-rule.js";
import { rbacActionOf } from "./authz-filters.js";
import { jwksCluster } from "./jwt-authn.js";

function errorOf(c: IstioConfig, field: string, reason: string): ConfigError {
  return { origin: c.origin, object: `${c.kind} ${c.namespace}/${c.name}`, field, reason };
}

function checkAuthorizationPolicy(c: IstioConfig, options: ResolvedOptions): ConfigError[] {
  const out: ConfigError[] = [];
  const action = rbacActionOf(c);
  if (c.spec.action !== undefined && !["ALLOW", "DENY", "AUDIT", "CUSTOM"].includes(String(c.spec.action))) {
    out.push(errorOf(c, "spec.action", `unknown action ${JSON.stringify(c.spec.action)}; use ALLOW, DENY, AUDIT or CUSTOM. The policy is enforced as DENY of its rules (fail closed)`));
  }
  if (c.spec.action === "CUSTOM") {
    out.push(errorOf(c, "spec.provider", "CUSTOM needs an extension provider (meshConfig.extensionProviders) and Weft has none; the policy is enforced as DENY of its rules (fail closed)"));
  }
  if (c.spec.rules !== undefined && !Array.isArray(c.spec.rules)) {
    out.push(errorOf(c, "spec.rules", action === "ALLOW" ? "must be a list; the policy allows nothing" : "must be a list; the policy applies to every request (fail closed)"));
    return out;
  }
  const consequence = action === "ALLOW" ? "the rule is ignored (fail closed: it allows nothing)" : "the condition is widened (fail closed: the rule matches more)";
  (Array.isArray(c.spec.rules) ? c.spec.rules : []).forEach((r, i) => {
    const compiled = compileRule(r, `spec.rules[${i}]`, { action, forTCP: false, trustDomains: [options.trustDomain, ...options.trustDomainAliases], issuers: ["issuer"] });
    for (const p of compiled.problems) if (!p.httpOnly) out.push(errorOf(c, p.field, `${p.reason}; ${consequence}`));
  });
  return out;
}

function checkPeerAuthentication(c: IstioConfig): ConfigError[] {
  const sel = isObject(c.spec.selector) && isObject(c.spec.selector.matchLabels) ? c.spec.selector.matchLabels : {};
  if (c.spec.portLevelMtls !== undefined && Object.keys(sel).length === 0) {
    return [errorOf(c, "spec.portLevelMtls", "applies only to a policy with a workload selector; ignored")];
  }
  return [];
}

function checkRequestAuthentication(c: IstioConfig, registry: Registry): ConfigError[] {
  const out: ConfigError[] = [];
  (Array.isArray(c.spec.jwtRules) ? c.spec.jwtRules : []).forEach((r, i) => {
    const f = `spec.jwtRules[${i}]`;
    if (!isObject(r)) return;
    const rejected = "tokens from this issuer are rejected (fail closed)";
    if (typeof r.jwks === "string" && r.jwks) {
      try {
        const keys = JSON.parse(r.jwks) as unknown;
        if (!isObject(keys) || !Array.isArray(keys.keys)) out.push(errorOf(c, `${f}.jwks`, `must be a JSON Web Key Set ({"keys": [...]}); ${rejected}`));
      } catch (err) {
        out.push(errorOf(c, `${f}.jwks`, `is not JSON (${(err as Error).message}); ${rejected}`));
      }
    } else if (typeof r.jwksUri === "string" && r.jwksUri) {
      const target = jwksCluster(r.jwksUri);
      if (!target) out.push(errorOf(c, `${f}.jwksUri`, `${JSON.stringify(r.jwksUri)} is not an http(s) URL; ${rejected}`));
      else if (!registry.byHost.get(target.host)?.some((s) => s.ports.some((p) => p.port === target.port))) {
        // The proxy fetches keys through outbound|<port>||<host>: without a service (or ServiceEntry) for it there is no such cluster.
        out.push(errorOf(c, `${f}.jwksUri`, `no service or ServiceEntry for ${target.host}:${target.port}, so the proxy has no cluster ${target.cluster} to fetch keys through; ${rejected}. Add a ServiceEntry for it, or inline the keys in jwks`));
      }
    } else {
      out.push(errorOf(c, f, `needs jwks or jwksUri (Weft does not discover keys through OpenID Connect); ${rejected}`));
    }
    (Array.isArray(r.fromHeaders) ? r.fromHeaders : []).forEach((h, j) => {
      if (!isObject(h) || typeof h.name !== "string" || !h.name) out.push(errorOf(c, `${f}.fromHeaders[${j}].name`, "is required; the entry is ignored"));
    });
    (Array.isArray(r.outputClaimToHeaders) ? r.outputClaimToHeaders : []).forEach((h, j) => {
      if (!isObject(h) || typeof h.header !== "string" || typeof h.claim !== "string") out.push(errorOf(c, `${f}.outputClaimToHeaders[${j}]`, "needs header and claim; the entry is ignored"));
    });
  });
  return out;
}

function checkDestinationRuleTls(c: IstioConfig): ConfigError[] {
  const out: ConfigError[] = [];
  const visit = (policy: unknown, path: string): void => {
    if (!isObject(policy)) return;
    const tls = policy.tls;
    if (isObject(tls) && tls.mode === "MUTUAL" && !tls.credentialName && !(tls.clientCertificate && tls.privateKey)) {
      out.push(errorOf(c, `${path}.tls`, "MUTUAL needs clientCertificate and privateKey, or credentialName; the connection offers no client certificate"));
    }
    (Array.isArray(policy.portLevelSettings) ? policy.portLevelSettings : []).forEach((p, i) => visit(p, `${path}.portLevelSettings[${i}]`));
  };
  visit(c.spec.trafficPolicy, "spec.trafficPolicy");
  (Array.isArray(c.spec.subsets) ? c.spec.subsets : []).forEach((s, i) => isObject(s) && visit(s.trafficPolicy, `spec.subsets[${i}].trafficPolicy`));
  return out;
}

export function checkSecurityPolicies(istio: IstioStore, options: ResolvedOptions, registry: Registry): ConfigError[] {
  const out: ConfigError[] = [];
  for (const c of istio.other) {
    if (c.kind === "AuthorizationPolicy") out.push(...checkAuthorizationPolicy(c, options));
    else if (c.kind === "PeerAuthentication") out.push(...checkPeerAuthentication(c));
    else if (c.kind === "RequestAuthentication") out.push(...checkRequestAuthentication(c, registry));
  }
  for (const dr of istio.destinationRules) out.push(...checkDestinationRuleTls(dr));
  return out;
}
