// envoy.config.route.v3.RouteMatch compiled into one predicate over the request.
import type { RouteMatch, HeaderMatcher, QueryParameterMatcher } from "@weft/xds-api/gen/envoy/config/route/v3/route_components_pb.js";
import { ResourceRejectedError } from "../contracts.js";
import { headerValue, type RequestContext } from "../http/request-context.js";
import { wireText } from "../http/wire-string.js";
import { compileFullRegex, compileRegexMatcher, compileStringMatcher, type StringPredicate } from "../runtime/string-matcher.js";

export type RouteMatcher = (ctx: RequestContext) => boolean;

function pathOnly(p: string): string {
  const q = p.indexOf("?");
  const h = p.indexOf("#");
  const end = q < 0 ? (h < 0 ? p.length : h) : h < 0 ? q : Math.min(q, h);
  return end === p.length ? p : p.slice(0, end);
}

export function compileRouteMatch(
  m: RouteMatch,
  res: string,
  field: string,
  report: (field: string, detail?: string) => void,
  random: () => number = Math.random,
): RouteMatcher {
  const cs = m.caseSensitive ?? true;
  let path: RouteMatcher;
  const ps = m.pathSpecifier;
  switch (ps.case) {
    case "prefix": {
      // Envoy matches prefix against the whole :path, query string included.
      const want = cs ? ps.value : ps.value.toLowerCase();
      path = want === "" || want === "/" && cs ? (ctx) => ctx.path.startsWith(want) : cs ? (ctx) => ctx.path.startsWith(want) : (ctx) => ctx.path.toLowerCase().startsWith(want);
      break;
    }
    case "path": {
      const want = cs ? ps.value : ps.value.toLowerCase();
      path = cs ? (ctx) => pathOnly(ctx.path) === want : (ctx) => pathOnly(ctx.path).toLowerCase() === want;
      break;
    }
    case "pathSeparatedPrefix": {
      const v = ps.value;
      if (v.includes("?") || v.includes("#") || v.endsWith("/")) {
        throw new ResourceRejectedError(res, `${field}.path_separated_prefix`, `${JSON.stringify(v)} must not contain ? or # and must not end with /`);
      }
      const want = cs ? v : v.toLowerCase();
      path = (ctx) => {
        let p = pathOnly(ctx.path);
        if (!cs) p = p.toLowerCase();
        return p === want || (p.startsWith(want) && p.charCodeAt(want.length) === 47 /* / */);
      };
      break;
    }
    case "safeRegex": {
      const re = compileRegexMatcher(ps.value, res, `${field}.safe_regex`);
      path = (ctx) => re(pathOnly(ctx.path));
      break;
    }
    case "connectMatcher":
      path = (ctx) => ctx.method === "CONNECT";
      break;
    default:
      throw new ResourceRejectedError(res, field, `path specifier ${String(ps.case)} is not supported`);
  }
  if (m.runtimeFraction) {
    // Without runtime overrides Envoy takes default_value: the route matches that fraction of requests.
    if (m.runtimeFraction.runtimeKey) report("route.match.runtime_fraction.runtime_key", "runtime overrides are not implemented; default_value applies");
    const byPath = path;
    const inFraction = compileRuntimeFraction(m.runtimeFraction.defaultValue, random);
    path = (ctx) => byPath(ctx) && inFraction(ctx);
  }
  if (m.tlsContext) report("route.match.tls_context", "not implemented; ignored");
  if (m.dynamicMetadata.length) report("route.match.dynamic_metadata", "not implemented; ignored");

  const headers = m.headers.map((h, i) => compileHeaderMatcher(h, res, `${field}.headers[${i}]`));
  // grpc: {} — only gRPC requests match (Envoy's Grpc::Common::isGrpcRequestHeaders).
  if (m.grpc) headers.unshift(isGrpcRequest);
  const query = m.queryParameters.map((q, i) => compileQueryMatcher(q, res, `${field}.query_parameters[${i}]`));
  if (headers.length === 0 && query.length === 0) return path;
  return (ctx) => {
    if (!path(ctx)) return false;
    for (const h of headers) if (!h(ctx)) return false;
    if (query.length > 0) {
      const params = parseQuery(ctx.path);
      for (const q of query) if (!q(params)) return false;
    }
    return true;
  };
}

export function compileHeaderMatcher(h: HeaderMatcher, res: string, field: string): RouteMatcher {
  const name = h.name.toLowerCase();
  if (!name) throw new ResourceRejectedError(res, `${field}.name`, "header name is required");
  const s = h.headerMatchSpecifier;
  let test: (v: string | undefined) => boolean;
  const str = (p: StringPredicate) => (v: string | undefined) => v !== undefined && p(v);
  switch (s.case) {
    case "exactMatch":
      test = (v) => v === s.value;
      break;
    case "prefixMatch":
      test = (v) => v !== undefined && v.startsWith(s.value);
      break;
    case "suffixMatch":
      test = (v) => v !== undefined && v.endsWith(s.value);
      break;
    case "containsMatch":
      test = (v) => v !== undefined && v.includes(s.value);
      break;
    case "safeRegexMatch":
      test = str(compileRegexMatcher(s.value, res, `${field}.safe_regex_match`));
      break;
    case "stringMatch":
      test = str(compileStringMatcher(s.value, res, `${field}.string_match`));
      break;
    case "presentMatch": {
      const want = s.value;
      test = (v) => (v !== undefined) === want;
      break;
    }
    case "rangeMatch": {
      const { start, end } = s.value;
      test = (v) => {
        if (v === undefined || !/^-?\d+$/.test(v)) return false;
        const n = BigInt(v);
        return n >= start && n < end;
      };
      break;
    }
    case undefined:
      // No specifier: the header must be present (Envoy's legacy behaviour).
      test = (v) => v !== undefined;
      break;
    default:
      throw new ResourceRejectedError(res, field, `header match ${String((s as { case: string }).case)} is not supported`);
  }
  const invert = h.invertMatch;
  const missingEmpty = h.treatMissingHeaderAsEmpty;
  return (ctx) => {
    let v = headerValue(ctx, name);
    if (v === undefined && missingEmpty) v = "";
    // Config text is Unicode, the value wire bytes: compare text with text (a client's UTF-8 "Zoë" matches "Zoë").
    else if (v !== undefined) v = wireText(v);
    // invert_match does not apply to a missing header unless treat_missing_header_as_empty (Envoy).
    if (v === undefined && invert && s.case !== "presentMatch") return false;
    return test(v) !== invert;
  };
}

const DENOMINATORS = [100, 10_000, 1_000_000];
/** One random integer per request, shared by every runtime_fraction it meets (Envoy's per-stream random value). */
const streamRandom = new WeakMap<RequestContext, number>();

/**
 * runtime_fraction's default_value (a FractionalPercent): the request is in when its random value
 * modulo the denominator is below the numerator. One value per request, as in Envoy, so "route A
 * at 50 %, route B at 50 %" sends half to A and none to B — B sees the same value A refused.
 */
function compileRuntimeFraction(p: { numerator: number; denominator: number } | undefined, random: () => number): (ctx: RequestContext) => boolean {
  const numerator = p?.numerator ?? 0;
  const denominator = DENOMINATORS[p?.denominator ?? 0] ?? 100;
  return (ctx) => {
    let r = streamRandom.get(ctx);
    if (r === undefined) streamRandom.set(ctx, (r = Math.floor(random() * 2 ** 52)));
    return r % denominator < numerator;
  };
}

/** A gRPC request: content-type application/grpc, alone or followed by "+" or ";" (grpc-web is not). */
function isGrpcRequest(ctx: RequestContext): boolean {
  const t = headerValue(ctx, "content-type");
  if (t === undefined || !t.startsWith("application/grpc")) return false;
  const next = t.charCodeAt(16);
  return t.length === 16 || next === 0x2b /* + */ || next === 0x3b /* ; */;
}

type QueryPredicate = (params: Map<string, string>) => boolean;

export function compileQueryMatcher(q: QueryParameterMatcher, res: string, field: string): QueryPredicate {
  const name = q.name;
  if (!name) throw new ResourceRejectedError(res, `${field}.name`, "query parameter name is required");
  const s = q.queryParameterMatchSpecifier;
  if (s.case === "stringMatch") {
    const p = compileStringMatcher(s.value, res, `${field}.string_match`);
    return (params) => {
      const v = params.get(name);
      return v !== undefined && p(v);
    };
  }
  if (s.case === "presentMatch") return (params) => params.has(name) === s.value;
  return (params) => params.has(name);
}

/**
 * First value of each query parameter, as it appears in the path: Envoy's router and its query
 * hash policy read them with QueryParamsMulti::parseQueryString, which does not percent-decode
 * (`exact: "a b"` does not match `?q=a%20b`; `exact: "a%20b"` does).
 */
export function parseQuery(path: string): Map<string, string> {
  const out = new Map<string, string>();
  const q = path.indexOf("?");
  if (q < 0) return out;
  const h = path.indexOf("#", q);
  const qs = path.slice(q + 1, h < 0 ? undefined : h);
  for (const part of qs.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const k = eq < 0 ? part : part.slice(0, eq);
    if (!out.has(k)) out.set(k, eq < 0 ? "" : part.slice(eq + 1));
  }
  return out;
}

export { compileFullRegex };
