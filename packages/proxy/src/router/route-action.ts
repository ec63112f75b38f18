// Route actions (route / redirect / direct_response) compiled to plain specs.
import type { Route, RouteAction, RedirectAction } from "@weft/xds-api/gen/envoy/config/route/v3/route_components_pb.js";
import type { RE2 } from "re2-wasm";
import { readFileSync } from "node:fs";
import { ResourceRejectedError } from "../contracts.js";
import { durationMs } from "../runtime/duration.js";
import { compileRe2 } from "../runtime/string-matcher.js";
import { compileHeaderMutation, type HeaderMutation } from "./header-mutation.js";
import type { MirrorPolicySpec } from "./mirror.js";
import { compileRetryPolicy, type RetryPolicySpec } from "./retry-policy.js";

export { compileRetryPolicy, type RetryPolicySpec };

export interface WeightedClusterSpec {
  name: string;
  weight: number;
  requestHeaders: HeaderMutation;
  responseHeaders: HeaderMutation;
}

export type HashPolicySpec =
  | { kind: "header"; name: string; terminal: boolean }
  | { kind: "cookie"; name: string; terminal: boolean; generate?: GeneratedCookie }
  | { kind: "source_ip"; terminal: boolean }
  | { kind: "query"; name: string; terminal: boolean };

/** hash_policy cookie with a ttl: the cookie the proxy sets when the request has none (router/hash-cookie.ts). */
export interface GeneratedCookie {
  /** Max-Age in seconds; 0 makes it a session cookie. */
  ttlSeconds: number;
  path: string;
  attributes: Array<{ name: string; value: string }>;
}

export interface RouteForwardSpec {
  kind: "route";
  cluster?: string;
  clusterHeader?: string;
  weighted?: WeightedClusterSpec[];
  totalWeight: number;
  clusterNotFoundStatus: number;
  prefixRewrite?: string;
  regexRewrite?: { re: RE2; substitution: string };
  hostRewriteLiteral?: string;
  autoHostRewrite: boolean;
  timeoutMs: number;
  idleTimeoutMs: number;
  retryPolicy?: RetryPolicySpec;
  hashPolicy: HashPolicySpec[];
  websocket?: boolean;
  /** RouteAction.priority: which circuit breakers apply. */
  priority: "default" | "high";
  mirrors: MirrorPolicySpec[];
  /** Route per_request_buffer_limit_bytes: how much request body is kept for retries and mirrors. */
  bufferLimitBytes?: number;
  /** RouteAction.max_stream_duration, when set (http/stream-duration.ts reads it). */
  maxStreamDuration?: StreamDurationSpec;
}

/** RouteAction.max_stream_duration in ms; a field left unset is undefined (0 is "no limit" / "no cap"). */
export interface StreamDurationSpec {
  maxMs?: number;
  grpcHeaderMaxMs?: number;
  grpcHeaderOffsetMs?: number;
}

export interface RedirectSpec {
  kind: "redirect";
  status: number;
  scheme?: string;
  host?: string;
  port?: number;
  path?: string;
  prefixRewrite?: string;
  regexRewrite?: { re: RE2; substitution: string };
  stripQuery: boolean;
  /** VirtualHost.require_tls's redirect: Location is `https://<host><path>` as received (Envoy's createSslRedirectPath). */
  ssl?: boolean;
}

export interface DirectResponseSpec {
  kind: "direct";
  status: number;
  body: string;
}

export type RouteActionSpec = RouteForwardSpec | RedirectSpec | DirectResponseSpec;

export function compileRouteAction(
  r: Route,
  res: string,
  field: string,
  report: (field: string, detail?: string) => void,
): RouteActionSpec {
  const a = r.action;
  switch (a.case) {
    case "route":
      return { ...compileForward(a.value, res, `${field}.route`, report), bufferLimitBytes: r.perRequestBufferLimitBytes };
    case "redirect":
      return compileRedirect(a.value, res, `${field}.redirect`);
    case "directResponse": {
      const d = a.value;
      if (d.status < 200 || d.status >= 600) throw new ResourceRejectedError(res, `${field}.direct_response.status`, `${d.status} is not in [200, 600)`);
      let body = "";
      const s = d.body?.specifier;
      if (s?.case === "inlineString") body = s.value;
      else if (s?.case === "inlineBytes") body = Buffer.from(s.value).toString("latin1");
      else if (s?.case === "filename") {
        try {
          body = readFileSync(s.value, "utf8");
        } catch (err) {
          throw new ResourceRejectedError(res, `${field}.direct_response.body.filename`, `cannot read ${s.value}: ${(err as Error).message}`);
        }
      } else if (s?.case === "environmentVariable") body = process.env[s.value] ?? "";
      return { kind: "direct", status: d.status, body };
    }
    case "nonForwardingAction":
      report("route.non_forwarding_action", "not implemented; treated as direct_response 404");
      return { kind: "direct", status: 404, body: "" };
    default:
      throw new ResourceRejectedError(res, `${field}.action`, `route action ${String(a.case)} is not supported`);
  }
}

/** Envoy writes regex substitutions with \1; re2-wasm's replace wants $1. */
function toJsSubstitution(s: string): string {
  return s.replace(/\$/g, "$$$$").replace(/\\(\d)/g, "$$$1");
}

function compileForward(ra: RouteAction, res: string, field: string, report: (field: string, detail?: string) => void): RouteForwardSpec {
  const spec: RouteForwardSpec = {
    kind: "route",
    totalWeight: 0,
    clusterNotFoundStatus: ra.clusterNotFoundResponseCode === 1 ? 404 : ra.clusterNotFoundResponseCode === 2 ? 500 : 503,
    autoHostRewrite: false,
    timeoutMs: durationMs(ra.timeout, 15_000),
    idleTimeoutMs: durationMs(ra.idleTimeout, 0),
    hashPolicy: [],
    priority: ra.priority === 1 ? "high" : "default",
    mirrors: [],
  };
  const cs = ra.clusterSpecifier;
  switch (cs.case) {
    case "cluster":
      if (!cs.value) throw new ResourceRejectedError(res, `${field}.cluster`, "must not be empty");
      spec.cluster = cs.value;
      break;
    case "clusterHeader":
      spec.clusterHeader = cs.value.toLowerCase();
      break;
    case "weightedClusters": {
      const wc = cs.value;
      spec.weighted = wc.clusters.map((c, i) => {
        const f = `${field}.weighted_clusters.clusters[${i}]`;
        if (!c.name) throw new ResourceRejectedError(res, `${f}.name`, "must not be empty");
        return {
          name: c.name,
          weight: c.weight ?? 0,
          requestHeaders: compileHeaderMutation(c.requestHeadersToAdd, c.requestHeadersToRemove, res, `${f}.request_headers`, report),
          responseHeaders: compileHeaderMutation(c.responseHeadersToAdd, c.responseHeadersToRemove, res, `${f}.response_headers`, report),
        };
      });
      spec.totalWeight = spec.weighted.reduce((s, w) => s + w.weight, 0);
      if (spec.weighted.length === 0 || spec.totalWeight === 0) {
        throw new ResourceRejectedError(res, `${field}.weighted_clusters`, "needs at least one cluster with a positive weight");
      }
      break;
    }
    default:
      throw new ResourceRejectedError(res, `${field}.cluster_specifier`, `${String(cs.case)} is not supported`);
  }
  if (ra.prefixRewrite) spec.prefixRewrite = ra.prefixRewrite;
  if (ra.regexRewrite) {
    if (spec.prefixRewrite) throw new ResourceRejectedError(res, `${field}.regex_rewrite`, "cannot be combined with prefix_rewrite");
    const pattern = ra.regexRewrite.pattern?.regex;
    if (!pattern) throw new ResourceRejectedError(res, `${field}.regex_rewrite.pattern.regex`, "is required");
    spec.regexRewrite = { re: compileRe2(pattern, "gu", res, `${field}.regex_rewrite.pattern.regex`), substitution: toJsSubstitution(ra.regexRewrite.substitution) };
  }
  const hr = ra.hostRewriteSpecifier;
  if (hr.case === "hostRewriteLiteral") spec.hostRewriteLiteral = hr.value;
  else if (hr.case === "autoHostRewrite") spec.autoHostRewrite = hr.value.value === true;
  else if (hr.case) report(`route.${hr.case}`, "not implemented; host not rewritten");
  if (ra.retryPolicy) spec.retryPolicy = compileRetryPolicy(ra.retryPolicy, res, `${field}.retry_policy`, report);
  ra.hashPolicy.forEach((h, i) => {
    const p = h.policySpecifier;
    const terminal = h.terminal;
    if (p.case === "header") spec.hashPolicy.push({ kind: "header", name: p.value.headerName.toLowerCase(), terminal });
    else if (p.case === "cookie") {
      const c = p.value;
      const generate = c.ttl ? { ttlSeconds: Math.floor(durationMs(c.ttl, 0) / 1000), path: c.path, attributes: c.attributes.map((a) => ({ name: a.name, value: a.value })) } : undefined;
      spec.hashPolicy.push({ kind: "cookie", name: c.name, terminal, generate });
    } else if (p.case === "connectionProperties") {
      if (p.value.sourceIp) spec.hashPolicy.push({ kind: "source_ip", terminal });
    } else if (p.case === "queryParameter") spec.hashPolicy.push({ kind: "query", name: p.value.name, terminal });
    else report(`route.hash_policy[${i}].${String(p.case)}`, "not implemented; ignored");
  });
  for (const u of ra.upgradeConfigs) if (u.upgradeType.toLowerCase() === "websocket") spec.websocket = u.enabled ?? true;
  ra.requestMirrorPolicies.forEach((m, i) => {
    const f = `${field}.request_mirror_policies[${i}]`;
    if (!m.cluster && !m.clusterHeader) throw new ResourceRejectedError(res, f, "one of cluster or cluster_header is required");
    if (m.cluster && m.clusterHeader) throw new ResourceRejectedError(res, f, "only one of cluster and cluster_header may be set");
    const d = m.runtimeFraction?.defaultValue;
    const denom = d ? (d.denominator === 1 ? 10_000 : d.denominator === 2 ? 1_000_000 : 100) : 1;
    spec.mirrors.push({
      cluster: m.cluster || undefined,
      clusterHeader: m.clusterHeader ? m.clusterHeader.toLowerCase() : undefined,
      // Without runtime_fraction every request is mirrored.
      fraction: m.runtimeFraction ? (d ? Math.min(1, d.numerator / denom) : 0) : 1,
      disableShadowHostSuffixAppend: m.disableShadowHostSuffixAppend,
    });
  });
  const msd = ra.maxStreamDuration;
  if (msd) {
    const ms = (d: typeof msd.maxStreamDuration) => (d ? durationMs(d, 0) : undefined);
    spec.maxStreamDuration = { maxMs: ms(msd.maxStreamDuration), grpcHeaderMaxMs: ms(msd.grpcTimeoutHeaderMax), grpcHeaderOffsetMs: ms(msd.grpcTimeoutHeaderOffset) };
  }
  if (ra.hedgePolicy) report("route.hedge_policy", "not implemented");
  return spec;
}

const REDIRECT_CODES = [301, 302, 303, 307, 308];

function compileRedirect(r: RedirectAction, res: string, field: string): RedirectSpec {
  const spec: RedirectSpec = { kind: "redirect", status: REDIRECT_CODES[r.responseCode] ?? 301, stripQuery: r.stripQuery };
  const sc = r.schemeRewriteSpecifier;
  if (sc.case === "httpsRedirect" && sc.value) spec.scheme = "https";
  else if (sc.case === "schemeRedirect") spec.scheme = sc.value.toLowerCase();
  if (r.hostRedirect) spec.host = r.hostRedirect;
  if (r.portRedirect) spec.port = r.portRedirect;
  const pr = r.pathRewriteSpecifier;
  if (pr.case === "pathRedirect") spec.path = pr.value;
  else if (pr.case === "prefixRewrite") spec.prefixRewrite = pr.value;
  else if (pr.case === "regexRewrite") {
    const pattern = pr.value.pattern?.regex;
    if (!pattern) throw new ResourceRejectedError(res, `${field}.regex_rewrite.pattern.regex`, "is required");
    spec.regexRewrite = { re: compileRe2(pattern, "gu", res, `${field}.regex_rewrite.pattern.regex`), substitution: toJsSubstitution(pr.value.substitution) };
  }
  return spec;
}
