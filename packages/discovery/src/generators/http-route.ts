// VirtualService `http` → Envoy routes, as istiod's route translation
// (pilot/pkg/networking/core/route/route.go) does: one Envoy route per match,
// weighted clusters to subsets, Istio's default retry policy when retries are
// unset, fault/cors as per-route filter config, rewrites, redirects, direct
// responses, mirrors and header operations.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { ProxyInfo } from "../contracts.js";
import { matchLabels, type Labels } from "../model/labels.js";
import { isObject, type Json } from "../source/field-checker.js";
import { durationJson, parseDurationMs } from "../source/duration.js";
import { qualifyHost } from "../push-context/hosts.js";
import type { IstioConfig } from "../push-context/istio-config.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { outboundName } from "./cds.js";
import { hashPolicy, effectivePolicy } from "./traffic-policy.js";

export const DEFAULT_RETRY_ON = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";

/** Istio's retry policy when a route sets none (istio/pkg/config/mesh DefaultRetryPolicy). */
export function defaultRetryPolicy(): JsonObject {
  return {
    retry_on: DEFAULT_RETRY_ON,
    num_retries: 2,
    retry_host_predicate: [{ name: "envoy.retry_host_predicates.previous_hosts" }],
    host_selection_retry_max_attempts: "5",
    retriable_status_codes: [503],
  };
}

export interface RouteContext {
  push: MeshPushContext;
  proxy: ProxyInfo;
  /** The listener port the route config serves (9080 for sidecars, the server port for gateways). */
  port: number;
  /** For gateways: `ns/name` of the Gateways this route config belongs to; undefined for sidecars (= "mesh"). */
  gateways?: ReadonlySet<string>;
}

const ms = (v: unknown): string => durationJson(parseDurationMs(v));
const ZERO_STREAM = { max_stream_duration: "0s", grpc_timeout_header_max: "0s" };

function stringMatch(sm: Json): JsonObject | undefined {
  if (typeof sm.exact === "string") return { exact: sm.exact };
  if (typeof sm.prefix === "string") return { prefix: sm.prefix };
  if (typeof sm.regex === "string") return { safe_regex: { regex: sm.regex } };
  return undefined;
}

function headerMatcher(name: string, sm: unknown, invert: boolean): JsonObject {
  const m = isObject(sm) ? stringMatch(sm) : undefined;
  const out: JsonObject = m ? { name, string_match: m } : { name, present_match: true };
  if (invert) out.invert_match = true;
  return out;
}

function routeMatch(m: Json | undefined): JsonObject {
  const out: JsonObject = {};
  const uri = m && isObject(m.uri) ? m.uri : undefined;
  if (uri && typeof uri.exact === "string") out.path = uri.exact;
  else if (uri && typeof uri.prefix === "string") out.prefix = uri.prefix;
  else if (uri && typeof uri.regex === "string") out.safe_regex = { regex: uri.regex };
  else out.prefix = "/";
  if (uri) out.case_sensitive = m?.ignoreUriCase !== true;
  const headers: JsonObject[] = [];
  if (m) {
    for (const [key, header] of [["method", ":method"], ["authority", ":authority"], ["scheme", ":scheme"]] as const) {
      if (isObject(m[key])) headers.push(headerMatcher(header, m[key], false));
    }
    if (isObject(m.headers)) for (const [name, sm] of Object.entries(m.headers)) headers.push(headerMatcher(name.toLowerCase(), sm, false));
    if (isObject(m.withoutHeaders)) for (const [name, sm] of Object.entries(m.withoutHeaders)) headers.push(headerMatcher(name.toLowerCase(), sm, true));
    if (isObject(m.queryParams)) {
      out.query_parameters = Object.entries(m.queryParams).map(([name, sm]): JsonObject => {
        const q = isObject(sm) ? stringMatch(sm) : undefined;
        return q ? { name, string_match: q } : { name, present_match: true };
      });
    }
  }
  if (headers.length > 0) out.headers = headers;
  return out;
}

/** Istio percentages (`percentage.value` 0–100, double) → FractionalPercent per million. */
function fraction(percentage: unknown, legacyPercent?: unknown): JsonObject {
  if (isObject(percentage) && typeof percentage.value === "number") return { numerator: Math.round(percentage.value * 10_000), denominator: "MILLION" };
  if (typeof legacyPercent === "number") return { numerator: legacyPercent, denominator: "HUNDRED" };
  return { numerator: 100, denominator: "HUNDRED" };
}

function headerOps(h: unknown): { add: JsonObject[]; remove: string[]; respAdd: JsonObject[]; respRemove: string[] } {
  const out = { add: [] as JsonObject[], remove: [] as string[], respAdd: [] as JsonObject[], respRemove: [] as string[] };
  if (!isObject(h)) return out;
  for (const [dir, add, remove] of [["request", out.add, out.remove], ["response", out.respAdd, out.respRemove]] as const) {
    const ops = isObject(h[dir]) ? h[dir] : undefined;
    if (!ops) continue;
    if (isObject(ops.set)) for (const [k, v] of Object.entries(ops.set)) add.push({ header: { key: k, value: String(v) }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" });
    if (isObject(ops.add)) for (const [k, v] of Object.entries(ops.add)) add.push({ header: { key: k, value: String(v) }, append_action: "APPEND_IF_EXISTS_OR_ADD" });
    if (Array.isArray(ops.remove)) for (const k of ops.remove) if (typeof k === "string") remove.push(k);
  }
  return out;
}

function applyHeaderOps(target: JsonObject, h: unknown): void {
  const ops = headerOps(h);
  if (ops.add.length) target.request_headers_to_add = ops.add;
  if (ops.remove.length) target.request_headers_to_remove = ops.remove;
  if (ops.respAdd.length) target.response_headers_to_add = ops.respAdd;
  if (ops.respRemove.length) target.response_headers_to_remove = ops.respRemove;
}

interface ResolvedDestination {
  cluster: string;
  host: string;
  port: number;
  subset: string;
}

export function resolveDestination(ctx: RouteContext, d: Json, vsNamespace: string): ResolvedDestination {
  const host = qualifyHost(String(d.host), vsNamespace, ctx.push.options.domain);
  const svc = ctx.push.service(host, ctx.proxy.namespace);
  let port = isObject(d.port) && typeof d.port.number === "number" ? d.port.number : undefined;
  // No port: the destination service's only port, else the port this route config serves.
  if (port === undefined) port = svc && svc.ports.length === 1 ? svc.ports[0].port : ctx.port;
  const subset = typeof d.subset === "string" ? d.subset : "";
  return { cluster: outboundName(port, subset, host), host, port, subset };
}

function retryPolicy(retries: unknown): JsonObject | undefined {
  if (!isObject(retries)) return defaultRetryPolicy();
  const attempts = typeof retries.attempts === "number" ? retries.attempts : 2;
  if (attempts === 0) return undefined; // istiod: attempts 0 disables retries
  const policy = defaultRetryPolicy();
  policy.num_retries = attempts;
  if (typeof retries.retryOn === "string" && retries.retryOn.trim() !== "") {
    const on: string[] = [];
    const codes: number[] = [];
    for (const p of retries.retryOn.split(",").map((s) => s.trim()).filter(Boolean)) {
      if (/^\d+$/.test(p)) codes.push(Number(p));
      else on.push(p);
    }
    // Status codes in retryOn become retriable_status_codes (+ the policy that enables them).
    if (codes.length > 0 && !on.includes("retriable-status-codes")) on.push("retriable-status-codes");
    policy.retry_on = on.join(",");
    if (codes.length > 0) policy.retriable_status_codes = codes;
    else delete policy.retriable_status_codes;
  }
  if (retries.perTryTimeout !== undefined) policy.per_try_timeout = ms(retries.perTryTimeout);
  if (retries.retryRemoteLocalities === true) policy.retry_priority = { name: "envoy.retry_priorities.previous_priorities" };
  return policy;
}

function decoratorPath(m: Json | undefined): string {
  const uri = m && isObject(m.uri) ? m.uri : undefined;
  if (uri && typeof uri.exact === "string") return uri.exact;
  if (uri && typeof uri.prefix === "string") return `${uri.prefix}*`;
  return "/*";
}

function matchApplies(ctx: RouteContext, m: Json | undefined, vs: IstioConfig): boolean {
  if (!m) return true;
  if (typeof m.port === "number" && m.port !== ctx.port) return false;
  if (isObject(m.sourceLabels) && !matchLabels(m.sourceLabels as Labels, ctx.proxy.labels)) return false;
  if (typeof m.sourceNamespace === "string" && m.sourceNamespace !== ctx.proxy.namespace) return false;
  if (Array.isArray(m.gateways) && m.gateways.length > 0) {
    const names = m.gateways.filter((g): g is string => typeof g === "string").map((g) => (g === "mesh" || g.includes("/") ? g : `${vs.namespace}/${g}`));
    if (ctx.gateways ? !names.some((g) => ctx.gateways!.has(g)) : !names.includes("mesh")) return false;
  }
  return true;
}

/** All Envoy routes of one VirtualService for the route config being built. */
export function translateVirtualService(ctx: RouteContext, vs: IstioConfig): JsonObject[] {
  const out: JsonObject[] = [];
  const https = Array.isArray(vs.spec.http) ? vs.spec.http.filter(isObject) : [];
  for (const http of https) {
    const matches: Array<Json | undefined> = Array.isArray(http.match) && http.match.length > 0 ? http.match.filter(isObject) : [undefined];
    for (const m of matches) {
      if (!matchApplies(ctx, m, vs)) continue;
      out.push(translateRoute(ctx, vs, http, m));
    }
  }
  return out;
}

function translateRoute(ctx: RouteContext, vs: IstioConfig, http: Json, m: Json | undefined): JsonObject {
  const route: JsonObject = { match: routeMatch(m) };
  const name = typeof http.name === "string" ? (m && typeof m.name === "string" ? `${http.name}.${m.name}` : http.name) : undefined;
  if (name) route.name = name;
  const perFilter: JsonObject = {};
  let decoratorHost = "";
  if (isObject(http.redirect)) {
    const r = http.redirect;
    const redirect: JsonObject = {};
    if (typeof r.uri === "string") redirect.path_redirect = r.uri;
    if (typeof r.authority === "string") redirect.host_redirect = r.authority;
    if (typeof r.scheme === "string") redirect.scheme_redirect = r.scheme;
    if (typeof r.port === "number") redirect.port_redirect = r.port;
    const codes: Record<number, string> = { 301: "MOVED_PERMANENTLY", 302: "FOUND", 303: "SEE_OTHER", 307: "TEMPORARY_REDIRECT", 308: "PERMANENT_REDIRECT" };
    if (typeof r.redirectCode === "number" && codes[r.redirectCode]) redirect.response_code = codes[r.redirectCode];
    route.redirect = redirect;
  } else if (isObject(http.directResponse)) {
    const d = http.directResponse;
    const body = isObject(d.body) ? d.body : undefined;
    route.direct_response = {
      status: d.status as number,
      ...(body && typeof body.string === "string" ? { body: { inline_string: body.string } } : {}),
      ...(body && typeof body.bytes === "string" ? { body: { inline_bytes: body.bytes } } : {}),
    };
  } else {
    const dests = (Array.isArray(http.route) ? http.route : []).filter(isObject).filter((rd) => isObject(rd.destination) && (rd.weight === undefined || (rd.weight as number) > 0 || (http.route as unknown[]).length === 1));
    const resolved = dests.map((rd) => ({ rd, d: resolveDestination(ctx, rd.destination as Json, vs.namespace) }));
    const action: JsonObject = {};
    if (resolved.length === 1) {
      action.cluster = resolved[0].d.cluster;
    } else if (resolved.length > 1) {
      action.weighted_clusters = {
        clusters: resolved.map(({ rd, d }) => {
          const wc: JsonObject = { name: d.cluster, weight: typeof rd.weight === "number" ? rd.weight : 0 };
          applyHeaderOps(wc, rd.headers);
          return wc;
        }),
      };
    }
    if (resolved.length === 1) applyHeaderOps(route, resolved[0].rd.headers);
    action.timeout = http.timeout !== undefined ? ms(http.timeout) : "0s";
    const retry = retryPolicy(http.retries);
    if (retry) action.retry_policy = retry;
    if (isObject(http.rewrite)) {
      const rw = http.rewrite;
      if (typeof rw.uri === "string") action.prefix_rewrite = rw.uri;
      if (typeof rw.authority === "string") action.host_rewrite_literal = rw.authority;
      if (isObject(rw.uriRegexRewrite)) action.regex_rewrite = { pattern: { regex: String(rw.uriRegexRewrite.match) }, substitution: String(rw.uriRegexRewrite.rewrite ?? "") };
    }
    // istiod: `mirror` (with mirrorPercentage / the deprecated mirrorPercent) then each of `mirrors`;
    // a percentage that is not above 0 leaves the policy out, an unset one mirrors everything.
    const mirrors: JsonObject[] = [];
    const mirrorTo = (destination: Json, percentage: unknown, legacy?: unknown): void => {
      const given = isObject(percentage) ? (percentage.value ?? 0) : legacy;
      if (given !== undefined && !(typeof given === "number" && given > 0)) return;
      mirrors.push({ cluster: resolveDestination(ctx, destination, vs.namespace).cluster, runtime_fraction: { default_value: fraction(percentage, legacy) } });
    };
    if (isObject(http.mirror)) mirrorTo(http.mirror, http.mirrorPercentage, http.mirrorPercent);
    if (Array.isArray(http.mirrors)) for (const m of http.mirrors) if (isObject(m) && isObject(m.destination)) mirrorTo(m.destination, m.percentage);
    if (mirrors.length) action.request_mirror_policies = mirrors;
    if (resolved.length > 0) {
      const first = resolved[0].d;
      const svc = ctx.push.service(first.host, ctx.proxy.namespace);
      if (svc) {
        const dr = ctx.push.destinationRule(ctx.proxy.namespace, svc);
        const hp = dr ? hashPolicy(effectivePolicy(dr.spec, first.subset || undefined, first.port)) : undefined;
        if (hp) action.hash_policy = hp;
      }
      decoratorHost = `${first.host}:${first.port}`;
    }
    action.max_stream_duration = http.timeout !== undefined ? { max_stream_duration: ms(http.timeout), grpc_timeout_header_max: ms(http.timeout) } : ZERO_STREAM;
    route.route = action;
  }
  const ops = headerOps(http.headers);
  if (ops.add.length) route.request_headers_to_add = [...((route.request_headers_to_add as JsonObject[] | undefined) ?? []), ...ops.add];
  if (ops.remove.length) route.request_headers_to_remove = [...((route.request_headers_to_remove as string[] | undefined) ?? []), ...ops.remove];
  if (ops.respAdd.length) route.response_headers_to_add = [...((route.response_headers_to_add as JsonObject[] | undefined) ?? []), ...ops.respAdd];
  if (ops.respRemove.length) route.response_headers_to_remove = [...((route.response_headers_to_remove as string[] | undefined) ?? []), ...ops.respRemove];
  if (isObject(http.fault)) perFilter["envoy.filters.http.fault"] = faultConfig(http.fault);
  if (isObject(http.corsPolicy)) perFilter["envoy.filters.http.cors"] = corsConfig(http.corsPolicy);
  if (Object.keys(perFilter).length > 0) route.typed_per_filter_config = perFilter;
  route.metadata = { filter_metadata: { istio: { config: vs.configPath } } };
  if (decoratorHost) route.decorator = { operation: `${decoratorHost}${decoratorPath(m)}` };
  return route;
}

function faultConfig(f: Json): JsonObject {
  const out: JsonObject = { "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault" };
  if (isObject(f.delay) && f.delay.fixedDelay !== undefined) {
    out.delay = { fixed_delay: ms(f.delay.fixedDelay), percentage: fraction(f.delay.percentage, f.delay.percent) };
  }
  if (isObject(f.abort)) {
    const a = f.abort;
    const abort: JsonObject = { percentage: fraction(a.percentage) };
    if (typeof a.httpStatus === "number") abort.http_status = a.httpStatus;
    else if (typeof a.grpcStatus === "string") abort.grpc_status = grpcCode(a.grpcStatus);
    else if (typeof a.grpcStatus === "number") abort.grpc_status = a.grpcStatus;
    out.abort = abort;
  }
  return out;
}

const GRPC_CODES = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"];
function grpcCode(name: string): number {
  const i = GRPC_CODES.indexOf(name.toUpperCase());
  return i < 0 ? 2 : i;
}

function corsConfig(c: Json): JsonObject {
  const out: JsonObject = { "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy" };
  const origins: JsonValue[] = [];
  if (Array.isArray(c.allowOrigins)) for (const o of c.allowOrigins) if (isObject(o)) {
    const sm = stringMatch(o);
    if (sm) origins.push(sm);
  }
  if (Array.isArray(c.allowOrigin)) for (const o of c.allowOrigin) if (typeof o === "string") origins.push({ exact: o });
  if (origins.length) out.allow_origin_string_match = origins;
  const join = (v: unknown): string | undefined => (Array.isArray(v) && v.length > 0 ? v.map(String).join(",") : undefined);
  const methods = join(c.allowMethods);
  if (methods) out.allow_methods = methods;
  const headers = join(c.allowHeaders);
  if (headers) out.allow_headers = headers;
  const expose = join(c.exposeHeaders);
  if (expose) out.expose_headers = expose;
  if (c.maxAge !== undefined) out.max_age = String(Math.floor(parseDurationMs(c.maxAge) / 1000));
  if (typeof c.allowCredentials === "boolean") out.allow_credentials = c.allowCredentials;
  return out;
}

/** The route istiod gives a service with no VirtualService: `default`, prefix `/`, Istio's retry policy. */
export function defaultRoute(ctx: RouteContext, host: string, port: number): JsonObject {
  const cluster = outboundName(port, "", host);
  const action: JsonObject = { cluster, timeout: "0s", retry_policy: defaultRetryPolicy(), max_stream_duration: ZERO_STREAM };
  const svc = ctx.push.service(host, ctx.proxy.namespace);
  if (svc) {
    const dr = ctx.push.destinationRule(ctx.proxy.namespace, svc);
    const hp = dr ? hashPolicy(effectivePolicy(dr.spec, undefined, port)) : undefined;
    if (hp) action.hash_policy = hp;
  }
  return { name: "default", match: { prefix: "/" }, route: action, decorator: { operation: `${host}:${port}/*` } };
}
