// RequestAuthentication → envoy.filters.http.jwt_authn, as istiod builds it
// (pilot/pkg/security/authn, BuildJwtFilter): every jwtRule of every
// RequestAuthentication that applies to the workload becomes a provider
// `origins-<i>`; one rule on `/` requires any provider or no token at all
// (allow_missing: a request without a token passes to authorization, a bad
// token is a 401). Each provider writes the verified payload to dynamic
// metadata `envoy.filters.http.jwt_authn` under its issuer
// (payload_in_metadata = issuer), which is what rbac-matchers.ts matches
// request principals and claims against.
import type { JsonObject } from "@bufbuild/protobuf";
import { labelsKey } from "../model/labels.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { isObject, type Json } from "../source/field-checker.js";
import { typed } from "../generators/envoy-json.js";
import { policiesFor, type WorkloadRef } from "./policy-scope.js";

/** Istio refreshes remote keys every 20 minutes (PILOT_JWT_PUB_KEY_REFRESH_INTERVAL). */
export const JWKS_CACHE_DURATION = "1200s";
/** An empty key set: a provider whose keys cannot be known verifies nothing (fail closed). */
export const EMPTY_JWKS = '{"keys":[]}';

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

export interface JwtRuleRef {
  rule: Json;
  namespace: string;
}

/** The jwtRules that apply to a workload, in policy order. */
export function jwtRulesFor(push: MeshPushContext, w: WorkloadRef): JwtRuleRef[] {
  const key = `jwt-rules|${w.namespace}|${labelsKey(w.labels)}`;
  const hit = push.cache.get(key) as JwtRuleRef[] | undefined;
  if (hit) return hit;
  const out: JwtRuleRef[] = [];
  for (const p of policiesFor(push, "RequestAuthentication", w)) {
    for (const r of Array.isArray(p.spec.jwtRules) ? p.spec.jwtRules : []) if (isObject(r) && typeof r.issuer === "string" && r.issuer) out.push({ rule: r, namespace: p.namespace });
  }
  push.cache.set(key, out);
  return out;
}

export function issuersOf(rules: readonly JwtRuleRef[]): string[] {
  return [...new Set(rules.map((r) => String(r.rule.issuer)))];
}

/** `https://host[:port]/path` → the outbound cluster Istio would fetch it through. */
export function jwksCluster(uri: string): { cluster: string; host: string; port: number } | undefined {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return undefined;
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return undefined;
  const port = u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
  return { cluster: `outbound|${port}||${u.hostname}`, host: u.hostname, port };
}

function provider(r: Json): JsonObject {
  const p: JsonObject = { issuer: String(r.issuer) };
  const audiences = strings(r.audiences);
  if (audiences.length > 0) p.audiences = audiences;
  if (typeof r.jwks === "string" && r.jwks) p.local_jwks = { inline_string: r.jwks };
  else if (typeof r.jwksUri === "string" && jwksCluster(r.jwksUri)) {
    const c = jwksCluster(r.jwksUri)!;
    p.remote_jwks = { http_uri: { uri: r.jwksUri, cluster: c.cluster, timeout: "5s" }, cache_duration: JWKS_CACHE_DURATION };
  } else p.local_jwks = { inline_string: EMPTY_JWKS };
  if (r.forwardOriginalToken === true) p.forward = true;
  const headers = (Array.isArray(r.fromHeaders) ? r.fromHeaders : []).filter(isObject).filter((h) => typeof h.name === "string");
  if (headers.length > 0) p.from_headers = headers.map((h) => ({ name: String(h.name), ...(typeof h.prefix === "string" && h.prefix ? { value_prefix: h.prefix } : {}) }));
  const params = strings(r.fromParams);
  if (params.length > 0) p.from_params = params;
  const cookies = strings(r.fromCookies);
  if (cookies.length > 0) p.from_cookies = cookies;
  p.payload_in_metadata = String(r.issuer);
  if (typeof r.outputPayloadToHeader === "string" && r.outputPayloadToHeader) p.forward_payload_header = r.outputPayloadToHeader;
  const claims = (Array.isArray(r.outputClaimToHeaders) ? r.outputClaimToHeaders : []).filter(isObject).filter((c) => typeof c.header === "string" && typeof c.claim === "string");
  if (claims.length > 0) p.claim_to_headers = claims.map((c) => ({ header_name: String(c.header), claim_name: String(c.claim) }));
  return p;
}

/** The jwt_authn HTTP filter for the workload, or undefined when no RequestAuthentication applies. */
export function jwtAuthnFilter(rules: readonly JwtRuleRef[]): JsonObject | undefined {
  if (rules.length === 0) return undefined;
  const providers: JsonObject = {};
  const requirements: JsonObject[] = [];
  rules.forEach((r, i) => {
    const name = `origins-${i}`;
    providers[name] = provider(r.rule);
    requirements.push({ provider_name: name });
  });
  requirements.push({ allow_missing: {} });
  return {
    name: "envoy.filters.http.jwt_authn",
    typed_config: typed("envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication", {
      providers,
      rules: [{ match: { prefix: "/" }, requires: { requires_any: { requirements } } }],
      bypass_cors_preflight: true,
    }),
  };
}
