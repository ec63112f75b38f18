// envoy.filters.http.rbac: enforced rules and shadow rules, per-route
// RBACPerRoute override (no `rbac` = disabled on that route). A denied request
// gets Envoy's local reply 403 "RBAC: access denied" with details
// `rbac_access_denied_matched_policy[<policy>|none]`; stats
// `http.<prefix>.rbac.<rules_stat_prefix>allowed|denied` and
// `http.<prefix>.rbac.<shadow_rules_stat_prefix>shadow_allowed|shadow_denied`;
// shadow results go to dynamic metadata `envoy.filters.http.rbac`.
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { RBACPerRouteSchema, RBACSchema, type RBAC } from "@weft/xds-api/gen/envoy/extensions/filters/http/rbac/v3/rbac_pb.js";
import { ResourceRejectedError, type Counter } from "../../contracts.js";
import { setMetadata } from "../../authz/authz-input.js";
import { NOOP_STATS } from "../../authz/noop-stats.js";
import { compileRbacEngine, type RbacEngine } from "../../authz/rbac-engine.js";
import type { CompileContext, HttpFilter, HttpFilterFactory } from "../http-filter.js";
import type { LocalReply } from "../local-reply.js";
import type { RequestContext } from "../request-context.js";

export const RBAC_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC";
export const RBAC_PER_ROUTE_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute";
const METADATA_NS = "envoy.filters.http.rbac";

interface RbacSpec {
  /** undefined: rules absent → nothing enforced (Envoy); present with no policies and ALLOW → deny all. */
  engine?: RbacEngine;
  shadow?: RbacEngine;
}

/** Per-route: a spec, or DISABLED when RBACPerRoute has no `rbac`. */
const DISABLED = Symbol("rbac-disabled");

function compileRbacConfig(cfg: RBAC, cc: CompileContext, field: string): RbacSpec {
  if (cfg.matcher) throw new ResourceRejectedError(cc.resource, `${field}.matcher`, "the unified matcher API is not implemented for RBAC (fail closed)");
  if (cfg.shadowMatcher) throw new ResourceRejectedError(cc.resource, `${field}.shadow_matcher`, "the unified matcher API is not implemented for RBAC");
  if (cfg.trackPerRuleStats) cc.report("rbac.track_per_rule_stats", "per-rule RBAC stats are not implemented");
  return {
    engine: cfg.rules ? compileRbacEngine(cfg.rules, cc.resource, `${field}.rules`) : undefined,
    shadow: cfg.shadowRules ? compileRbacEngine(cfg.shadowRules, cc.resource, `${field}.shadow_rules`) : undefined,
  };
}

function unpackRbac(any: Any, cc: CompileContext): RBAC {
  const cfg = anyUnpack(any, RBACSchema);
  if (!cfg) throw new ResourceRejectedError(cc.resource, cc.field, `expected ${RBAC_TYPE_URL}, got ${any.typeUrl}`);
  return cfg;
}

export function deniedReply(policyId: string): LocalReply {
  return { status: 403, body: "RBAC: access denied", details: `rbac_access_denied_matched_policy[${policyId || "none"}]` };
}

export const rbacFilterFactory: HttpFilterFactory = {
  typeUrls: [RBAC_TYPE_URL],
  perRouteTypeUrls: [RBAC_PER_ROUTE_TYPE_URL],
  compilePerRoute(any, cc) {
    const pr = anyUnpack(any, RBACPerRouteSchema);
    if (!pr) throw new ResourceRejectedError(cc.resource, cc.field, `expected ${RBAC_PER_ROUTE_TYPE_URL}, got ${any.typeUrl}`);
    if (!pr.rbac) return DISABLED;
    return compileRbacConfig(pr.rbac, cc, `${cc.field}.rbac`);
  },
  create(name, config, cc): HttpFilter {
    if (!config) throw new ResourceRejectedError(cc.resource, `${cc.field}.typed_config`, "envoy.filters.http.rbac needs a typed_config");
    const cfg = unpackRbac(config, cc);
    const base = compileRbacConfig(cfg, cc, `${cc.field}.typed_config`);
    const stats = cc.runtime?.stats ?? NOOP_STATS;
    const p = `http.${cc.statPrefix ?? ""}.rbac.`;
    const rp = cfg.rulesStatPrefix;
    const sp = cfg.shadowRulesStatPrefix;
    const c = (n: string): Counter => stats.counter(p + n);
    const allowed = c(`${rp}allowed`);
    const denied = c(`${rp}denied`);
    const logged = c(`${rp}logged`);
    const notLogged = c(`${rp}not_logged`);
    const shadowAllowed = c(`${sp}shadow_allowed`);
    const shadowDenied = c(`${sp}shadow_denied`);
    const shadowIdKey = `${sp}shadow_effective_policy_id`;
    const shadowResultKey = `${sp}shadow_engine_result`;
    const enforcedIdKey = `${rp}enforced_effective_policy_id`;
    const enforcedResultKey = `${rp}enforced_engine_result`;
    return {
      name,
      decodeHeaders(ctx: RequestContext) {
        // Envoy: the most specific per-filter config wins (route, then virtual host).
        const per = ctx.route?.perFilter.get(name) ?? ctx.vhost?.perFilter.get(name);
        if (per === DISABLED) return undefined;
        const spec = (per as RbacSpec | undefined) ?? base;
        if (spec.shadow) {
          const d = spec.shadow.evaluate(ctx.conn, ctx);
          (d.allowed ? shadowAllowed : shadowDenied).inc();
          const md: Record<string, unknown> = { [shadowResultKey]: d.allowed ? "allowed" : "denied" };
          if (d.policyId) md[shadowIdKey] = d.policyId;
          setMetadata(ctx, METADATA_NS, md);
        }
        const engine = spec.engine;
        if (!engine) return undefined;
        const d = engine.evaluate(ctx.conn, ctx);
        if (engine.action === "LOG") {
          (d.log ? logged : notLogged).inc();
          setMetadata(ctx, "envoy.common", { access_log_hint: d.log === true });
          return undefined;
        }
        const md: Record<string, unknown> = { [enforcedResultKey]: d.allowed ? "allowed" : "denied" };
        if (d.policyId) md[enforcedIdKey] = d.policyId;
        setMetadata(ctx, METADATA_NS, md);
        if (d.allowed) {
          allowed.inc();
          return undefined;
        }
        denied.inc();
        return deniedReply(d.policyId);
      },
    };
  },
};
