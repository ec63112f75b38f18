// envoy.config.route.v3.RouteConfiguration → CompiledRouteConfig: virtual hosts
// indexed for Envoy's domain precedence, routes with precompiled matchers and
// actions. The only place that reads route protos.
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import type { RouteConfiguration } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb.js";
import { FilterConfigSchema, VirtualHost_TlsRequirementType, type Route, type VirtualHost } from "@weft/xds-api/gen/envoy/config/route/v3/route_components_pb.js";
import { ResourceRejectedError } from "../contracts.js";
import type { HttpFilterRegistry } from "../http/http-filter.js";
import { compileHeaderMutation, EMPTY_MUTATION, type HeaderMutation } from "../router/header-mutation.js";
import { compileRouteMatch, type RouteMatcher } from "../router/route-match.js";
import { compileRouteAction, compileRetryPolicy, type RouteActionSpec, type RetryPolicySpec } from "../router/route-action.js";
import { unwrapTypedStruct } from "../http/typed-struct.js";
import { compileRateLimitPolicy, type RateLimitPolicy } from "../router/rate-limit-policy.js";

export interface CompiledVirtualHost {
  name: string;
  routes: CompiledRoute[];
  requestHeaders: HeaderMutation;
  responseHeaders: HeaderMutation;
  retryPolicy?: RetryPolicySpec;
  includeRequestAttemptCount: boolean;
  includeAttemptCountInResponse: boolean;
  perFilter: Map<string, unknown>;
  /** VirtualHost.require_tls: which requests that did not arrive over TLS are redirected to https. */
  requireTls: "NONE" | "EXTERNAL_ONLY" | "ALL";
  /** VirtualHost.rate_limits (absent when empty: nothing to evaluate per request). */
  rateLimits?: RateLimitPolicy;
}

export interface CompiledRoute {
  name: string;
  match: RouteMatcher;
  /** The matched prefix for prefix/path_separated_prefix/path routes (prefix_rewrite replaces it). */
  matchedPrefix?: string;
  action: RouteActionSpec;
  requestHeaders: HeaderMutation;
  responseHeaders: HeaderMutation;
  perFilter: Map<string, unknown>;
  vhost: CompiledVirtualHost;
  /** RouteAction.rate_limits (absent when empty). */
  rateLimits?: RateLimitPolicy;
  /** RouteAction.include_vh_rate_limits: the virtual host's rate limits apply too, whatever the filter says. */
  includeVhRateLimits?: boolean;
}

export interface CompiledRouteConfig {
  name: string;
  exact: Map<string, CompiledVirtualHost>;
  /** `*.suffix` (stored without `*`), longest first. */
  suffixes: Array<[string, CompiledVirtualHost]>;
  /** `prefix.*` (stored without `*`), longest first. */
  prefixes: Array<[string, CompiledVirtualHost]>;
  star?: CompiledVirtualHost;
  ignorePortInHostMatching: boolean;
  requestHeaders: HeaderMutation;
  responseHeaders: HeaderMutation;
  internalOnlyHeaders: string[];
  /** Cluster names referenced by routes (for validate_clusters). */
  clusterNames: Set<string>;
  validateClusters: boolean;
}

export interface RouteCompileDeps {
  filters: HttpFilterRegistry;
  report(field: string, detail?: string): void;
  /** For runtime_fraction route matches; Math.random when absent. */
  random?: () => number;
}

/**
 * `resource` names where the config lives when that is not its name: an inline route_config is
 * one per filter chain, and per-route state keyed by it (local rate limit buckets) must be too.
 */
export function compileRouteConfig(rc: RouteConfiguration, deps: RouteCompileDeps, nameOverride?: string, resource?: string): CompiledRouteConfig {
  const name = nameOverride ?? rc.name;
  const res = resource ?? (name || "<inline route_config>");
  const out: CompiledRouteConfig = {
    name,
    exact: new Map(),
    suffixes: [],
    prefixes: [],
    ignorePortInHostMatching: rc.ignorePortInHostMatching,
    requestHeaders: compileHeaderMutation(rc.requestHeadersToAdd, rc.requestHeadersToRemove, res, "request_headers", deps.report),
    responseHeaders: compileHeaderMutation(rc.responseHeadersToAdd, rc.responseHeadersToRemove, res, "response_headers", deps.report),
    internalOnlyHeaders: rc.internalOnlyHeaders.map((h) => h.toLowerCase()),
    clusterNames: new Set(),
    validateClusters: rc.validateClusters ?? false,
  };
  const seen = new Set<string>();
  rc.virtualHosts.forEach((vh, i) => {
    const field = `virtual_hosts[${i}]`;
    const cvh = compileVirtualHost(vh, res, field, deps, out.clusterNames);
    vh.domains.forEach((d, j) => {
      const dom = d.toLowerCase();
      if (seen.has(dom)) {
        throw new ResourceRejectedError(res, `${field}.domains[${j}]`, `only unique values for domains are permitted; duplicate entry of domain ${d}`);
      }
      seen.add(dom);
      if (dom === "*") out.star = cvh;
      else if (dom.startsWith("*")) out.suffixes.push([dom.slice(1), cvh]);
      else if (dom.endsWith("*")) out.prefixes.push([dom.slice(0, -1), cvh]);
      else if (dom.includes("*")) throw new ResourceRejectedError(res, `${field}.domains[${j}]`, `wildcard must be at the start or end of ${d}`);
      else out.exact.set(dom, cvh);
    });
    if (vh.domains.length === 0) throw new ResourceRejectedError(res, `${field}.domains`, "at least one domain is required");
  });
  // Longest wildcard wins (Envoy keeps these in maps ordered by length, descending).
  out.suffixes.sort((a, b) => b[0].length - a[0].length);
  out.prefixes.sort((a, b) => b[0].length - a[0].length);
  if (rc.vhds) deps.report("route_configuration.vhds", "not implemented");
  return out;
}

function compilePerFilter(
  map: { [k: string]: Any },
  res: string,
  field: string,
  deps: RouteCompileDeps,
): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, any] of Object.entries(map)) {
    let a = any;
    // envoy.config.route.v3.FilterConfig wraps a config with is_optional/disabled. The wrapped
    // config applies (ignoring it could drop a stricter per-route RBAC); `disabled` is not
    // implemented, so the filter keeps running (for the security filters: fail closed).
    if (a.typeUrl === "type.googleapis.com/envoy.config.route.v3.FilterConfig") {
      const fc = anyUnpack(a, FilterConfigSchema);
      if (fc?.disabled) deps.report(`${field}.typed_per_filter_config`, "FilterConfig.disabled is not implemented; the filter stays enabled");
      if (!fc?.config) continue;
      a = fc.config;
    }
    a = unwrapTypedStruct(a, (t) => deps.filters.perRoute(t)?.compilePerRoute !== undefined, res, `${field}.typed_per_filter_config["${k}"]`);
    const f = deps.filters.perRoute(a.typeUrl);
    if (!f?.compilePerRoute) {
      deps.report(`typed_per_filter_config[${a.typeUrl}]`, "no filter implements this per-route config; ignored");
      continue;
    }
    out.set(k, f.compilePerRoute(a, { resource: res, field: `${field}.typed_per_filter_config["${k}"]`, report: deps.report }));
  }
  return out;
}

function compileVirtualHost(
  vh: VirtualHost,
  res: string,
  field: string,
  deps: RouteCompileDeps,
  clusterNames: Set<string>,
): CompiledVirtualHost {
  const cvh: CompiledVirtualHost = {
    name: vh.name,
    routes: [],
    requestHeaders: compileHeaderMutation(vh.requestHeadersToAdd, vh.requestHeadersToRemove, res, `${field}.request_headers`, deps.report),
    responseHeaders: compileHeaderMutation(vh.responseHeadersToAdd, vh.responseHeadersToRemove, res, `${field}.response_headers`, deps.report),
    retryPolicy: vh.retryPolicy ? compileRetryPolicy(vh.retryPolicy, res, `${field}.retry_policy`) : undefined,
    includeRequestAttemptCount: vh.includeRequestAttemptCount,
    includeAttemptCountInResponse: vh.includeAttemptCountInResponse,
    perFilter: compilePerFilter(vh.typedPerFilterConfig, res, field, deps),
    requireTls: vh.requireTls === VirtualHost_TlsRequirementType.ALL ? "ALL" : vh.requireTls === VirtualHost_TlsRequirementType.EXTERNAL_ONLY ? "EXTERNAL_ONLY" : "NONE",
  };
  cvh.rateLimits = compileRateLimitPolicy(vh.rateLimits, undefined, res, `${field}.rate_limits`, deps.report);
  if (vh.cors) deps.report("virtual_host.cors", "deprecated field not implemented; use typed_per_filter_config");
  vh.routes.forEach((r, i) => cvh.routes.push(compileRoute(r, cvh, res, `${field}.routes[${i}]`, deps, clusterNames)));
  return cvh;
}

function compileRoute(
  r: Route,
  vhost: CompiledVirtualHost,
  res: string,
  field: string,
  deps: RouteCompileDeps,
  clusterNames: Set<string>,
): CompiledRoute {
  if (!r.match) throw new ResourceRejectedError(res, `${field}.match`, "match is required");
  const action = compileRouteAction(r, res, field, deps.report);
  if (action.kind === "route") {
    if (action.cluster) clusterNames.add(action.cluster);
    for (const w of action.weighted ?? []) clusterNames.add(w.name);
  }
  const ra = r.action.case === "route" ? r.action.value : undefined;
  return {
    rateLimits: ra ? compileRateLimitPolicy(ra.rateLimits, r.metadata, res, `${field}.route.rate_limits`, deps.report) : undefined,
    includeVhRateLimits: ra?.includeVhRateLimits || undefined,
    name: r.name,
    match: compileRouteMatch(r.match, res, `${field}.match`, deps.report, deps.random),
    matchedPrefix: r.match.pathSpecifier.case === "prefix" || r.match.pathSpecifier.case === "pathSeparatedPrefix" || r.match.pathSpecifier.case === "path" ? r.match.pathSpecifier.value : undefined,
    action,
    requestHeaders: compileHeaderMutation(r.requestHeadersToAdd, r.requestHeadersToRemove, res, `${field}.request_headers`, deps.report),
    responseHeaders: compileHeaderMutation(r.responseHeadersToAdd, r.responseHeadersToRemove, res, `${field}.response_headers`, deps.report),
    perFilter: compilePerFilter(r.typedPerFilterConfig, res, field, deps),
    vhost,
  };
}

export { EMPTY_MUTATION };
