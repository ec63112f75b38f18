// envoy.filters.http.jwt_authn: the first rule whose match fits the request
// picks a requirement (or none: the request passes unverified); a failed
// requirement gets Envoy's local reply — 401 (403 for a disallowed
// audience) with the jwt_verify status as the body, `www-authenticate:
// Bearer realm="<scheme>://<host><path>"` (+ `, error="invalid_token"`
// unless the token is missing) and details `jwt_authn_access_denied{…}`.
// Istio's RequestAuthentication puts `requires_any: [providers…,
// allow_missing]` here: no token passes (the AuthorizationPolicy decides),
// a bad one is rejected. Verified tokens also produce Istio's `istio_authn`
// metadata (request.auth.principal = iss/sub, audiences, presenter,
// claims as lists) that Istio's RBAC principals read.
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { JwtAuthenticationSchema, PerRouteConfigSchema } from "@weft/xds-api/gen/envoy/extensions/filters/http/jwt_authn/v3/config_pb.js";
import { ResourceRejectedError, type Counter } from "../../contracts.js";
import { setMetadata } from "../../authz/authz-input.js";
import { NOOP_STATS } from "../../authz/noop-stats.js";
import { compileProvider, type CompiledProvider } from "../../authz/jwt/jwt-provider.js";
import { compileRequirement, newRequestState, type RequirementNode } from "../../authz/jwt/jwt-requirement.js";
import { JwtStatus, type JwtStatusText } from "../../authz/jwt/jwt-status.js";
import type { ParsedJwt } from "../../authz/jwt/jwt-verify.js";
import { compileRouteMatch, type RouteMatcher } from "../../router/route-match.js";
import type { HttpFilter, HttpFilterFactory } from "../http-filter.js";
import type { LocalReply } from "../local-reply.js";
import type { RequestContext } from "../request-context.js";

export const JWT_AUTHN_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";
const PER_ROUTE_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig";
const DISABLED = Symbol("jwt-authn-disabled");
type PerRoute = typeof DISABLED | { requirementName: string };

/** Istio's claim representation: every claim a list of strings (objects kept as maps of the same). */
function istioClaims(v: unknown): unknown {
  if (typeof v === "string") return [v];
  if (typeof v === "number" || typeof v === "boolean") return [String(v)];
  if (Array.isArray(v)) return v.filter((x) => typeof x === "string" || typeof x === "number" || typeof x === "boolean").map(String);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = istioClaims(x);
    return out;
  }
  return undefined;
}

export function istioAuthnMetadata(jwt: ParsedJwt): Record<string, unknown> {
  const md: Record<string, unknown> = { "request.auth.claims": istioClaims(jwt.payload) };
  if (jwt.iss !== undefined && jwt.sub !== undefined) md["request.auth.principal"] = `${jwt.iss}/${jwt.sub}`;
  if (jwt.aud.length) md["request.auth.audiences"] = jwt.aud[0];
  if (typeof jwt.payload.azp === "string") md["request.auth.presenter"] = jwt.payload.azp;
  md["request.auth.raw_claims"] = JSON.stringify(jwt.payload);
  return md;
}

function deny(ctx: RequestContext, status: JwtStatusText): LocalReply {
  const q = ctx.path.indexOf("?");
  const realm = `${ctx.scheme}://${ctx.authority}${q < 0 ? ctx.path : ctx.path.slice(0, q)}`;
  let www = `Bearer realm="${realm.replace(/["\\]/g, "")}"`;
  if (status !== JwtStatus.Missed) www += ', error="invalid_token"';
  return {
    status: status === JwtStatus.AudienceNotAllowed ? 403 : 401,
    body: status,
    details: `jwt_authn_access_denied{${status.replace(/ /g, "_")}}`,
    headers: { "www-authenticate": www },
  };
}

export const jwtAuthnFilterFactory: HttpFilterFactory = {
  typeUrls: [JWT_AUTHN_TYPE_URL],
  perRouteTypeUrls: [PER_ROUTE_TYPE_URL],
  compilePerRoute(any, cc): PerRoute {
    const pr = anyUnpack(any, PerRouteConfigSchema);
    if (!pr) throw new ResourceRejectedError(cc.resource, cc.field, `expected ${PER_ROUTE_TYPE_URL}, got ${any.typeUrl}`);
    if (pr.requirementSpecifier.case === "disabled" && pr.requirementSpecifier.value) return DISABLED;
    if (pr.requirementSpecifier.case === "requirementName") return { requirementName: pr.requirementSpecifier.value };
    throw new ResourceRejectedError(cc.resource, cc.field, "disabled or requirement_name is required");
  },
  create(name, config, cc): HttpFilter {
    const f = `${cc.field}.typed_config`;
    const cfg = config ? anyUnpack(config, JwtAuthenticationSchema) : undefined;
    if (!cfg) throw new ResourceRejectedError(cc.resource, f, `expected ${JWT_AUTHN_TYPE_URL}`);
    const stats = cc.runtime?.stats ?? NOOP_STATS;
    const p = `http.${cc.statPrefix ?? ""}.jwt_authn.`;
    const c = (n: string): Counter => stats.counter(p + n);
    const fetchStats = { success: c("jwks_fetch_success"), failed: c("jwks_fetch_failed") };
    const providers = new Map<string, CompiledProvider>();
    for (const [pn, pv] of Object.entries(cfg.providers)) providers.set(pn, compileProvider(pn, pv, cc.resource, `${f}.providers[${pn}]`, cc.runtime, cc.report, fetchStats));
    const named = new Map<string, RequirementNode>();
    for (const [rn, r] of Object.entries(cfg.requirementMap)) named.set(rn, compileRequirement(r, providers, cc.resource, `${f}.requirement_map[${rn}]`));
    const rules: Array<{ match: RouteMatcher; node?: RequirementNode }> = cfg.rules.map((r, i) => {
      const rf = `${f}.rules[${i}]`;
      if (!r.match) throw new ResourceRejectedError(cc.resource, `${rf}.match`, "is required");
      const match = compileRouteMatch(r.match, cc.resource, `${rf}.match`, cc.report);
      const rt = r.requirementType;
      if (rt.case === "requires") return { match, node: compileRequirement(rt.value, providers, cc.resource, `${rf}.requires`) };
      if (rt.case === "requirementName") {
        const n = named.get(rt.value);
        if (!n) throw new ResourceRejectedError(cc.resource, `${rf}.requirement_name`, `${JSON.stringify(rt.value)} is not in requirement_map`);
        return { match, node: n };
      }
      // A rule without a requirement: matching requests are not verified (Envoy).
      return { match };
    });
    // filter_state_rules choose a requirement from filter state; not knowing it must not mean "skip verification".
    if (cfg.filterStateRules) throw new ResourceRejectedError(cc.resource, `${f}.filter_state_rules`, "not implemented (fail closed)");
    if (cfg.stripFailureResponse) cc.report("jwt_authn.strip_failure_response", "not implemented; failures are answered with 401");
    const allowed = c("allowed");
    const denied = c("denied");
    const corsBypassed = c("cors_preflight_bypassed");
    const log = cc.runtime?.logger;

    const run = async (ctx: RequestContext, node: RequirementNode): Promise<LocalReply | undefined> => {
      const s = newRequestState(ctx);
      let outcome;
      try {
        outcome = await node(s);
      } catch (err) {
        // Verification never throws by design; if it does, fail closed.
        log?.error({ err }, "jwt_authn: verification threw");
        outcome = JwtStatus.VerificationFail;
      }
      if (outcome !== "ok") {
        denied.inc();
        return deny(ctx, outcome);
      }
      allowed.inc();
      let istio = false;
      for (const v of s.verified) {
        v.provider.apply(ctx, v.jwt, v.from);
        if (!istio) {
          setMetadata(ctx, "istio_authn", istioAuthnMetadata(v.jwt));
          istio = true;
        }
      }
      return undefined;
    };

    return {
      name,
      decodeHeaders(ctx) {
        const per = (ctx.route?.perFilter.get(name) ?? ctx.vhost?.perFilter.get(name)) as PerRoute | undefined;
        if (per === DISABLED) return undefined;
        if (cfg.bypassCorsPreflight && ctx.method === "OPTIONS" && ctx.headers["origin"] !== undefined && ctx.headers["access-control-request-method"] !== undefined) {
          corsBypassed.inc();
          return undefined;
        }
        let node: RequirementNode | undefined;
        if (per) {
          node = named.get(per.requirementName);
          // An unknown requirement name fails closed rather than skipping verification.
          if (!node) return deny(ctx, JwtStatus.VerificationFail);
        } else {
          for (const r of rules) {
            if (r.match(ctx)) {
              node = r.node;
              break;
            }
          }
        }
        if (!node) return undefined;
        return run(ctx, node);
      },
    };
  },
};
