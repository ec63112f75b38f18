// ROUTE_CONFIGURATION, VIRTUAL_HOST and HTTP_ROUTE patches on one route
// configuration, in istiod's order (ApplyRouteConfigurationPatches): the
// route configuration's MERGEs (its only operation), then per virtual host
// its REMOVE/MERGE/REPLACE and its routes' REMOVE/MERGE followed by the route
// adds and inserts, then the virtual host ADDs (which are not patched again).
import type { JsonObject } from "@bufbuild/protobuf";
import { RouteConfigurationSchema } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb.js";
import { RouteSchema, VirtualHostSchema } from "@weft/xds-api/gen/envoy/config/route/v3/route_components_pb.js";
import { isObject } from "../source/field-checker.js";
import { insertAfter, insertBefore } from "./list-ops.js";
import { hasRouteMatch, routeConfigurationMatch, routeMatch, virtualHostMatch, type GatewayPortMap } from "./match.js";
import { assignAll, cloneJson, mergeMessage } from "./merge.js";
import { contextMatches, type EnvoyFilterPatch, type PatchSet, type ResourceContext } from "./types.js";

const listOf = (v: unknown): JsonObject[] => (Array.isArray(v) ? v.filter(isObject) : []) as JsonObject[];

function patchRoutes(ctx: ResourceContext, patches: readonly EnvoyFilterPatch[], rc: JsonObject, vh: JsonObject, portMap: GatewayPortMap): void {
  const applies = (p: EnvoyFilterPatch): boolean => contextMatches(p, ctx) && routeConfigurationMatch(ctx, rc, p, portMap) && virtualHostMatch(vh, p);
  const routes: JsonObject[] = [];
  for (const route of listOf(vh.routes)) {
    let removed = false;
    for (const p of patches) {
      if (!applies(p) || !routeMatch(route, p)) continue;
      if (p.operation === "REMOVE") {
        removed = true;
        break;
      }
      if (p.operation === "MERGE") assignAll(route, mergeMessage(RouteSchema, route, p.value ?? {}));
    }
    if (!removed) routes.push(route);
  }
  for (const p of patches) {
    if (!applies(p)) continue;
    const value = p.value ?? {};
    const matching = (r: JsonObject): boolean => routeMatch(r, p);
    switch (p.operation) {
      case "ADD":
        routes.push(cloneJson(value));
        break;
      case "INSERT_AFTER":
        if (!hasRouteMatch(p)) routes.push(cloneJson(value));
        else insertAfter(routes, matching, value);
        break;
      case "INSERT_BEFORE":
        if (!hasRouteMatch(p)) routes.unshift(cloneJson(value));
        else insertBefore(routes, matching, value);
        break;
      case "INSERT_FIRST":
        // istiod inserts at the top, but with a route match only when that route exists.
        if (!hasRouteMatch(p) || routes.some(matching)) routes.unshift(cloneJson(value));
        break;
      default:
    }
  }
  vh.routes = routes;
}

/** Patches one route configuration in place; `ctx` is SIDECAR_OUTBOUND / GATEWAY for RDS, SIDECAR_INBOUND for the inline inbound ones. */
export function patchRouteConfiguration(ctx: ResourceContext, set: PatchSet, rc: JsonObject, portMap: GatewayPortMap = new Map()): void {
  const rcApplies = (p: EnvoyFilterPatch): boolean => contextMatches(p, ctx) && routeConfigurationMatch(ctx, rc, p, portMap);
  for (const p of set.get("ROUTE_CONFIGURATION") ?? []) {
    if (p.operation === "MERGE" && rcApplies(p)) assignAll(rc, mergeMessage(RouteConfigurationSchema, rc, p.value ?? {}));
  }
  const vhPatches = set.get("VIRTUAL_HOST") ?? [];
  const routePatches = set.get("HTTP_ROUTE") ?? [];
  const hosts: JsonObject[] = [];
  for (const original of listOf(rc.virtual_hosts)) {
    let vh: JsonObject | undefined = original;
    for (const p of vhPatches) {
      if (!vh || !rcApplies(p) || !virtualHostMatch(vh, p)) continue;
      if (p.operation === "REMOVE") vh = undefined;
      else if (p.operation === "MERGE") assignAll(vh, mergeMessage(VirtualHostSchema, vh, p.value ?? {}));
      else if (p.operation === "REPLACE") vh = cloneJson(p.value ?? {});
    }
    if (!vh) continue;
    if (routePatches.length > 0) patchRoutes(ctx, routePatches, rc, vh, portMap);
    hosts.push(vh);
  }
  for (const p of vhPatches) if (p.operation === "ADD" && rcApplies(p)) hosts.push(cloneJson(p.value ?? {}));
  if (hosts.length > 0 || "virtual_hosts" in rc) rc.virtual_hosts = hosts;
}
