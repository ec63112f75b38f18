// LISTENER, LISTENER_FILTER, FILTER_CHAIN, NETWORK_FILTER and HTTP_FILTER
// patches on the listeners of one patch context, in istiod's order
// (ApplyListenerPatches): per listener its LISTENER removes/merges, its
// listener filter list edits, then per filter chain its
// FILTER_CHAIN removes/merges, its network filter list edits, each filter's
// MERGE, and inside the HTTP connection manager the HTTP filter list edits
// then merges; FILTER_CHAIN and LISTENER adds come after the existing ones
// were patched, so what a patch adds is not patched again in the same pass.
// HTTP_FILTER ADD appends at the end — after the router, as istiod does; use
// INSERT_BEFORE envoy.filters.http.router to put a filter in the request path.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { FilterChainSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_components_pb.js";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import { isObject } from "../source/field-checker.js";
import { HCM_NAME } from "./filter-names.js";
import { patchFilterList } from "./list-ops.js";
import { filterChainMatch, httpFilterName, listenerMatch, networkFilterMatch, networkFilterName } from "./match.js";
import { assignAll, cloneJson, mergeAny, mergeMessage } from "./merge.js";
import { contextMatches, type EnvoyFilterPatch, type PatchSet, type ResourceContext } from "./types.js";
import { typedRawConfig } from "./value.js";

const HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

const patchesOf = (set: PatchSet, applyTo: Parameters<PatchSet["get"]>[0]): readonly EnvoyFilterPatch[] => set.get(applyTo) ?? [];

/**
 * A filter's MERGE, as istiod's: only its name and typed_config change; a
 * filter without typed_config is left alone; same `@type` merges field-wise,
 * another `@type` replaces (istiod fails the whole patch pass there).
 */
export function mergeFilter(filter: JsonObject, p: EnvoyFilterPatch): void {
  const current = filter.typed_config;
  if (!isObject(current)) return;
  const user = p.value ?? {};
  if (typeof user.name === "string" && user.name !== "") filter.name = user.name;
  let incoming: JsonValue | undefined = user.typed_config;
  if (p.rawConfig && typeof current["@type"] === "string") incoming = typedRawConfig(p.rawConfig, current["@type"]);
  if (isObject(incoming)) filter.typed_config = mergeAny(current, incoming);
}

function patchHttpFilters(ctx: ResourceContext, set: PatchSet, listener: JsonObject, chain: JsonObject, filter: JsonObject): void {
  const hcm = filter.typed_config;
  if (!isObject(hcm) || hcm["@type"] !== HCM_TYPE) return;
  const relevant = patchesOf(set, "HTTP_FILTER").filter((p) => contextMatches(p, ctx) && listenerMatch(listener, p) && filterChainMatch(listener, chain, p) && networkFilterMatch(filter, p));
  if (relevant.length === 0) return;
  let list = (Array.isArray(hcm.http_filters) ? hcm.http_filters : []).filter(isObject) as JsonObject[];
  for (const p of relevant) if (p.operation !== "MERGE") list = patchFilterList(list, p, httpFilterName(p));
  for (const httpFilter of list) {
    for (const p of relevant) if (p.operation === "MERGE" && httpFilterName(p) !== undefined && httpFilter.name === httpFilterName(p)) mergeFilter(httpFilter, p);
  }
  hcm.http_filters = list;
}

function patchNetworkFilters(ctx: ResourceContext, set: PatchSet, listener: JsonObject, chain: JsonObject): void {
  const relevant = patchesOf(set, "NETWORK_FILTER").filter((p) => contextMatches(p, ctx) && listenerMatch(listener, p) && filterChainMatch(listener, chain, p));
  let list = (Array.isArray(chain.filters) ? chain.filters : []).filter(isObject) as JsonObject[];
  for (const p of relevant) if (p.operation !== "MERGE") list = patchFilterList(list, p, networkFilterName(p));
  chain.filters = list;
  for (const filter of list) {
    for (const p of relevant) if (p.operation === "MERGE" && networkFilterMatch(filter, p)) mergeFilter(filter, p);
    if (filter.name === HCM_NAME) patchHttpFilters(ctx, set, listener, chain, filter);
  }
}

/**
 * A transport socket in a MERGE value with the same name as the one in place
 * merges only its typed_config, and the rest of the value is not merged
 * (istiod's mergeTransportSocketListener / …Cluster). True when it handled it.
 */
export function mergeTransportSocket(target: JsonObject, value: JsonObject): boolean {
  const incoming = value.transport_socket;
  const current = target.transport_socket;
  if (!isObject(incoming) || !isObject(current) || incoming.name !== current.name) return false;
  if (isObject(current.typed_config) && isObject(incoming.typed_config)) current.typed_config = mergeAny(current.typed_config, incoming.typed_config);
  return true;
}

/** Returns false when a patch removed the chain. */
function patchFilterChain(ctx: ResourceContext, set: PatchSet, listener: JsonObject, chain: JsonObject): boolean {
  for (const p of patchesOf(set, "FILTER_CHAIN")) {
    if (!contextMatches(p, ctx) || !listenerMatch(listener, p) || !filterChainMatch(listener, chain, p)) continue;
    if (p.operation === "REMOVE") return false;
    if (p.operation === "MERGE" && !mergeTransportSocket(chain, p.value ?? {})) assignAll(chain, mergeMessage(FilterChainSchema, chain, p.value ?? {}));
  }
  patchNetworkFilters(ctx, set, listener, chain);
  return true;
}

function patchFilterChains(ctx: ResourceContext, set: PatchSet, listener: JsonObject): void {
  const chains = (Array.isArray(listener.filter_chains) ? listener.filter_chains : []).filter(isObject) as JsonObject[];
  const kept = chains.filter((chain) => patchFilterChain(ctx, set, listener, chain));
  if (isObject(listener.default_filter_chain) && !patchFilterChain(ctx, set, listener, listener.default_filter_chain as JsonObject)) delete listener.default_filter_chain;
  for (const p of patchesOf(set, "FILTER_CHAIN")) {
    if (p.operation === "ADD" && contextMatches(p, ctx) && listenerMatch(listener, p)) kept.push(cloneJson(p.value ?? {}));
  }
  if (kept.length > 0 || "filter_chains" in listener) listener.filter_chains = kept;
}

/**
 * LISTENER_FILTER list edits relative to `match.listener.listenerFilter`
 * (ADD, INSERT_FIRST/BEFORE/AFTER, REPLACE, REMOVE; istiod has no MERGE here).
 */
function patchListenerFilters(ctx: ResourceContext, set: PatchSet, listener: JsonObject): void {
  const relevant = patchesOf(set, "LISTENER_FILTER").filter((p) => contextMatches(p, ctx) && listenerMatch(listener, p));
  if (relevant.length === 0) return;
  let list = (Array.isArray(listener.listener_filters) ? listener.listener_filters : []).filter(isObject) as JsonObject[];
  for (const p of relevant) list = patchFilterList(list, p, p.listener?.listenerFilter || undefined);
  listener.listener_filters = list;
}

/** Returns false when a patch removed the listener. */
function patchListener(ctx: ResourceContext, set: PatchSet, listener: JsonObject): boolean {
  for (const p of patchesOf(set, "LISTENER")) {
    if (!contextMatches(p, ctx) || !listenerMatch(listener, p)) continue;
    if (p.operation === "REMOVE") return false;
    if (p.operation === "MERGE") assignAll(listener, mergeMessage(ListenerSchema, listener, p.value ?? {}));
  }
  patchListenerFilters(ctx, set, listener);
  patchFilterChains(ctx, set, listener);
  return true;
}

/**
 * Patches the listeners of one context (mutating them; pass copies) and
 * returns the survivors plus the LISTENER adds. An ADD whose context is ANY
 * only adds to SIDECAR_OUTBOUND and GATEWAY, as istiod.
 */
export function patchListeners(ctx: ResourceContext, set: PatchSet, listeners: JsonObject[], options: { adds: boolean }): JsonObject[] {
  const out = listeners.filter((l) => patchListener(ctx, set, l));
  if (!options.adds) return out;
  for (const p of patchesOf(set, "LISTENER")) {
    if (p.operation !== "ADD" || !contextMatches(p, ctx)) continue;
    if (p.context === "ANY" && ctx === "SIDECAR_INBOUND") continue;
    out.push(cloneJson(p.value ?? {}));
  }
  return out;
}
