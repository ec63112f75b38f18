import { isIP } from "node:net";
import type { RouteConfiguration } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb.js";
import type { Route as RouteEntry } from "@weft/xds-api/gen/envoy/config/route/v3/route_components_pb.js";

export const ROUTE_HEADER = ["NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE"];

/** istioctl's DOMAINS column: host names without ports or IPs, two at most, then "+ N more...". */
export function summarizeDomains(domains: readonly string[]): string {
  const names = [...new Set(domains.map((d) => d.replace(/:\d+$/, "")).filter((d) => !isIP(d.replace(/^\[|\]$/g, ""))))].sort((a, b) => a.length - b.length || a.localeCompare(b));
  if (names.length <= 2) return names.join(", ");
  return `${names.slice(0, 2).join(", ")} + ${names.length - 2} more...`;
}

function describeRouteMatch(route: RouteEntry): string {
  const p = route.match?.pathSpecifier;
  switch (p?.case) {
    case "prefix":
      return `${p.value}*`;
    case "path":
      return p.value;
    case "safeRegex":
      return p.value.regex;
    case "pathSeparatedPrefix":
      return `${p.value}/*`;
    default:
      return "/*";
  }
}

function virtualServiceOf(route: RouteEntry): string {
  const config = (route.metadata?.filterMetadata.istio as Record<string, unknown> | undefined)?.config;
  if (typeof config !== "string") return "";
  const m = /\/namespaces\/([^/]+)\/virtual-service\/([^/]+)$/.exec(config);
  return m ? `${m[2]}.${m[1]}` : "";
}

export function routeRows(configs: readonly RouteConfiguration[], filter: { name?: string } = {}): string[][] {
  const rows: string[][] = [];
  for (const rc of configs) {
    if (filter.name && rc.name !== filter.name) continue;
    for (const vh of rc.virtualHosts) {
      for (const route of vh.routes) rows.push([rc.name, vh.name, summarizeDomains(vh.domains), describeRouteMatch(route), virtualServiceOf(route)]);
    }
  }
  return rows;
}
