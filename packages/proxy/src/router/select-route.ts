// Virtual host by authority with Envoy's precedence (exact, longest `*.suffix`,
// longest `prefix.*`, `*`), then its require_tls, then the first matching route.
import type { CompiledRoute, CompiledRouteConfig, CompiledVirtualHost } from "../runtime/compile-route-config.js";
import { EMPTY_MUTATION } from "./header-mutation.js";
import type { RequestContext } from "../http/request-context.js";
import type { HashPolicySpec, RouteForwardSpec } from "./route-action.js";
import { hash32 } from "../upstream/hash.js";
import { setHashCookie } from "./hash-cookie.js";
import { parseQuery } from "./route-match.js";

/** Strips `:port` from an authority (IPv6-aware), as ignore_port_in_host_matching does. */
export function stripPort(host: string): string {
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end >= 0 ? host.slice(0, end + 1) : host;
  }
  const c = host.lastIndexOf(":");
  if (c < 0 || host.indexOf(":") !== c) return host;
  return host.slice(0, c);
}

export function selectVirtualHost(rc: CompiledRouteConfig, authority: string): CompiledVirtualHost | undefined {
  let host = authority.toLowerCase();
  if (rc.ignorePortInHostMatching) host = stripPort(host);
  const exact = rc.exact.get(host);
  if (exact) return exact;
  // A wildcard must match at least one character (Envoy: host longer than the wildcard domain).
  for (const [suffix, vh] of rc.suffixes) if (host.length > suffix.length && host.endsWith(suffix)) return vh;
  for (const [prefix, vh] of rc.prefixes) if (host.length > prefix.length && host.startsWith(prefix)) return vh;
  return rc.star;
}

/** The vhost-less route Envoy answers require_tls with: a 301 to `https://<host><path>`, nothing else applied. */
const SSL_REDIRECT_VHOST: CompiledVirtualHost = {
  name: "",
  routes: [],
  requestHeaders: EMPTY_MUTATION,
  responseHeaders: EMPTY_MUTATION,
  includeRequestAttemptCount: false,
  includeAttemptCountInResponse: false,
  perFilter: new Map(),
  requireTls: "NONE",
};
export const SSL_REDIRECT_ROUTE: CompiledRoute = {
  name: "",
  match: () => true,
  action: { kind: "redirect", status: 301, stripQuery: false, ssl: true },
  requestHeaders: EMPTY_MUTATION,
  responseHeaders: EMPTY_MUTATION,
  perFilter: new Map(),
  vhost: SSL_REDIRECT_VHOST,
};

/**
 * Envoy's VirtualHostImpl::getRouteFromEntries: before any route, a virtual host
 * with require_tls ALL redirects every request whose x-forwarded-proto is not
 * `https` (the connection manager sets it from the connection's TLS unless a
 * trusted hop did), EXTERNAL_ONLY the ones not marked `x-envoy-internal: true`.
 */
function sslRedirect(vh: CompiledVirtualHost, ctx: RequestContext): boolean {
  if (vh.requireTls === "NONE") return false;
  const xfp = ctx.headers["x-forwarded-proto"];
  if ((typeof xfp === "string" ? xfp : xfp?.[0]) === "https") return false;
  return vh.requireTls === "ALL" || ctx.headers["x-envoy-internal"] !== "true";
}

export function selectRoute(rc: CompiledRouteConfig, ctx: RequestContext): CompiledRoute | undefined {
  const vh = selectVirtualHost(rc, ctx.authority);
  if (!vh) return undefined;
  if (sslRedirect(vh, ctx)) return SSL_REDIRECT_ROUTE;
  ctx.vhost = vh;
  for (const r of vh.routes) if (r.match(ctx)) return r;
  return undefined;
}

/** The cluster for this request, or undefined (cluster_header with no header). */
export function selectCluster(
  spec: RouteForwardSpec,
  ctx: RequestContext,
  random: () => number,
): { name: string | undefined; weightedIndex: number } {
  if (spec.cluster) return { name: spec.cluster, weightedIndex: -1 };
  if (spec.clusterHeader) {
    const v = ctx.headers[spec.clusterHeader];
    return { name: typeof v === "string" ? v : v?.[0], weightedIndex: -1 };
  }
  const w = spec.weighted!;
  let r = Math.floor(random() * spec.totalWeight);
  for (let i = 0; i < w.length; i++) {
    if (r < w[i].weight) return { name: w[i].name, weightedIndex: i };
    r -= w[i].weight;
  }
  return { name: w[w.length - 1].name, weightedIndex: w.length - 1 };
}

/** Envoy's hash_policy: hashes of matching policies are combined; a terminal policy that yields a hash stops. */
export function computeHash(policies: HashPolicySpec[], ctx: RequestContext): number | undefined {
  if (policies.length === 0) return undefined;
  let acc: number | undefined;
  for (const p of policies) {
    let key: string | undefined;
    switch (p.kind) {
      case "header": {
        const v = ctx.headers[p.name] ?? (p.name === ":authority" ? ctx.authority : p.name === ":path" ? ctx.path : undefined);
        key = typeof v === "string" ? v : v?.join(",");
        break;
      }
      case "cookie":
        key = readCookie(ctx.headers.cookie, p.name);
        // Envoy hashes a cookie it generates when the request has none, and sets it on the response.
        if (key === undefined && p.generate) key = setHashCookie(ctx, p.name, p.generate);
        break;
      case "source_ip":
        key = ctx.downstreamRemoteIp;
        break;
      case "query":
        key = parseQuery(ctx.path).get(p.name);
        break;
    }
    if (key === undefined) continue;
    const h = hash32(key);
    // Envoy rotates the accumulated hash left by one before xoring in the next.
    acc = acc === undefined ? h : (((acc << 1) | (acc >>> 31)) ^ h) >>> 0;
    if (p.terminal) break;
  }
  return acc;
}

/** A cookie's value, without the double quotes a generated one carries (Envoy's parseCookieValue). */
function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const all = typeof header === "string" ? header : header.join("; ");
  for (const part of all.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const v = part.slice(eq + 1).trim();
    return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
  }
  return undefined;
}
