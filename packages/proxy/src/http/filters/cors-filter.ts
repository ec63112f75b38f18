// envoy.filters.http.cors: preflight replies and response headers from the
// CorsPolicy in typed_per_filter_config (route, else virtual host).
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { CorsPolicySchema } from "@weft/xds-api/gen/envoy/extensions/filters/http/cors/v3/cors_pb.js";
import { ResourceRejectedError } from "../../contracts.js";
import { compileStringMatcher, type StringPredicate } from "../../runtime/string-matcher.js";
import type { CompileContext, HttpFilter, HttpFilterFactory } from "../http-filter.js";
import type { RequestContext } from "../request-context.js";

const FILTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors";
const POLICY_TYPE = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy";

interface CorsSpec {
  origins: StringPredicate[];
  allowMethods: string;
  allowHeaders: string;
  exposeHeaders: string;
  maxAge: string;
  allowCredentials: boolean;
  enabled: boolean;
  forwardNotMatchingPreflights: boolean;
}

function compilePolicy(any: Any, cc: CompileContext): CorsSpec {
  const p = anyUnpack(any, CorsPolicySchema);
  if (!p) throw new ResourceRejectedError(cc.resource, cc.field, `expected ${POLICY_TYPE}, got ${any.typeUrl}`);
  return {
    origins: p.allowOriginStringMatch.map((m, i) => compileStringMatcher(m, cc.resource, `${cc.field}.allow_origin_string_match[${i}]`)),
    allowMethods: p.allowMethods,
    allowHeaders: p.allowHeaders,
    exposeHeaders: p.exposeHeaders,
    maxAge: p.maxAge,
    allowCredentials: p.allowCredentials ?? false,
    // filter_enabled is a runtime fraction; without runtime, a present 0% default disables it.
    enabled: p.filterEnabled?.defaultValue ? p.filterEnabled.defaultValue.numerator > 0 : true,
    forwardNotMatchingPreflights: p.forwardNotMatchingPreflights ?? true,
  };
}

function policyOf(ctx: RequestContext, name: string): CorsSpec | undefined {
  return (ctx.route?.perFilter.get(name) ?? ctx.vhost?.perFilter.get(name)) as CorsSpec | undefined;
}

export const corsFilterFactory: HttpFilterFactory = {
  typeUrls: [FILTER_TYPE],
  perRouteTypeUrls: [POLICY_TYPE],
  compilePerRoute: (any, cc) => compilePolicy(any, cc),
  create(name): HttpFilter {
    return {
      name,
      decodeHeaders(ctx) {
        const origin = ctx.headers["origin"];
        if (typeof origin !== "string" || !origin) return undefined;
        const p = policyOf(ctx, name);
        if (!p || !p.enabled) return undefined;
        const allowed = p.origins.some((m) => m(origin));
        const preflight = ctx.method === "OPTIONS" && ctx.headers["access-control-request-method"] !== undefined;
        if (!allowed) {
          if (preflight && !p.forwardNotMatchingPreflights) return { status: 403, body: "", details: "cors_origin_not_allowed" };
          return undefined;
        }
        const extra: Record<string, string> = { "access-control-allow-origin": origin };
        if (p.allowCredentials) extra["access-control-allow-credentials"] = "true";
        if (preflight) {
          if (p.allowMethods) extra["access-control-allow-methods"] = p.allowMethods;
          if (p.allowHeaders) extra["access-control-allow-headers"] = p.allowHeaders;
          if (p.maxAge) extra["access-control-max-age"] = p.maxAge;
          return { status: 200, body: "", details: "cors_response", headers: extra };
        }
        if (p.exposeHeaders) extra["access-control-expose-headers"] = p.exposeHeaders;
        ctx.extraResponseHeaders = extra;
        return undefined;
      },
    };
  },
};
