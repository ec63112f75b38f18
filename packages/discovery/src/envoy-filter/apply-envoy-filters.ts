// The EnvoyFilter stage between the generators and the cache: the resources
// generated for a proxy, as Envoy JSON, with the patches that apply to it,
// then checked as Envoy would check them. A patch set that yields a resource
// Envoy would refuse (a field of the wrong type, a broken PGV rule, a
// duplicate or missing name) is not sent: the EnvoyFilters are re-applied one
// by one in order and the first that breaks the result is dropped and
// reported by name, so the proxy gets its config without that EnvoyFilter
// instead of a NACK-able resource, and the others still apply.
import type { DescMessage, JsonObject } from "@bufbuild/protobuf";
import { toEnvoyJson, TypeUrl, unpackAny, validateMessage } from "@weft/xds-api";
import { ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb.js";
import type { Logger } from "pino";
import type { ProxyInfo, XdsResource } from "../contracts.js";
import { gatewayServers } from "../generators/gateway-servers.js";
import { inboundPorts } from "../generators/inbound-ports.js";
import { toResource } from "../generators/resource.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { isObject } from "../source/field-checker.js";
import { patchClusters } from "./apply-cluster.js";
import { patchListeners } from "./apply-listener.js";
import { patchRouteConfiguration } from "./apply-route.js";
import { HCM_NAME } from "./filter-names.js";
import type { GatewayPortMap } from "./match.js";
import { cloneJson } from "./merge.js";
import { patchSetOf, selectPatches } from "./select.js";
import type { ApplyTo, EnvoyFilterPatch, EnvoyFilterRef, PatchSet } from "./types.js";

interface TypeInfo {
  schema: DescMessage;
  kind: string;
  applyTo: readonly ApplyTo[];
}

const ROUTE_APPLY_TO: readonly ApplyTo[] = ["ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE"];

const TYPES: ReadonlyMap<string, TypeInfo> = new Map([
  // Listeners also carry the inbound route configurations inline (istiod patches those as SIDECAR_INBOUND routes).
  [TypeUrl.Listener, { schema: ListenerSchema, kind: "listener", applyTo: ["LISTENER", "LISTENER_FILTER", "FILTER_CHAIN", "NETWORK_FILTER", "HTTP_FILTER", ...ROUTE_APPLY_TO] }],
  [TypeUrl.Cluster, { schema: ClusterSchema, kind: "cluster", applyTo: ["CLUSTER"] }],
  [TypeUrl.RouteConfiguration, { schema: RouteConfigurationSchema, kind: "route configuration", applyTo: ROUTE_APPLY_TO }],
]);

const asObjects = (v: unknown): JsonObject[] => (Array.isArray(v) ? v.filter(isObject) : []) as JsonObject[];

/** Inline route configurations of the HTTP connection managers in a listener. */
function inlineRouteConfigs(listener: JsonObject): JsonObject[] {
  const chains = [...asObjects(listener.filter_chains), ...(isObject(listener.default_filter_chain) ? [listener.default_filter_chain as JsonObject] : [])];
  return chains.flatMap((fc) => asObjects(fc.filters)).filter((f) => f.name === HCM_NAME && isObject(f.typed_config) && isObject((f.typed_config as JsonObject).route_config)).map((f) => (f.typed_config as JsonObject).route_config as JsonObject);
}

function gatewayPortMap(push: MeshPushContext, proxy: ProxyInfo): GatewayPortMap {
  const map = new Map<number, Set<number>>();
  for (const s of gatewayServers(push, proxy)) map.set(s.bindPort, (map.get(s.bindPort) ?? new Set()).add(s.port));
  return map;
}

function run(push: MeshPushContext, proxy: ProxyInfo, typeUrl: string, set: PatchSet, originals: readonly JsonObject[]): JsonObject[] {
  const copies = originals.map((o) => cloneJson(o));
  if (typeUrl === TypeUrl.Cluster) {
    const hosts = new Map<number, string[]>();
    if (proxy.type === "sidecar") for (const p of inboundPorts(push, proxy)) hosts.set(p.port, p.services.map((s) => s.hostname));
    return patchClusters(set, copies, { proxyType: proxy.type, inboundHosts: (port) => hosts.get(port) ?? [] });
  }
  if (typeUrl === TypeUrl.RouteConfiguration) {
    const router = proxy.type === "router";
    const portMap = router ? gatewayPortMap(push, proxy) : new Map();
    for (const rc of copies) patchRouteConfiguration(router ? "GATEWAY" : "SIDECAR_OUTBOUND", set, rc, portMap);
    return copies;
  }
  if (proxy.type === "router") return patchListeners("GATEWAY", set, copies, { adds: true });
  const inbound = copies.filter((l) => l.traffic_direction === "INBOUND");
  const outbound = copies.filter((l) => l.traffic_direction !== "INBOUND");
  for (const l of inbound) for (const rc of inlineRouteConfigs(l)) patchRouteConfiguration("SIDECAR_INBOUND", set, rc);
  return [...patchListeners("SIDECAR_OUTBOUND", set, outbound, { adds: true }), ...patchListeners("SIDECAR_INBOUND", set, inbound, { adds: true })];
}

type Outcome = { ok: true; resources: XdsResource[] } | { ok: false; reason: string };

/** Patched JSON → resources, reusing the generated resource where a patch changed nothing; or why Envoy would refuse them. */
function check(info: TypeInfo, patched: readonly JsonObject[], originals: ReadonlyMap<string, { json: string; resource: XdsResource }>): Outcome {
  const out: XdsResource[] = [];
  const seen = new Set<string>();
  for (const json of patched) {
    const name = typeof json.name === "string" ? json.name : "";
    if (name === "") return { ok: false, reason: `it yields a ${info.kind} without a name` };
    if (seen.has(name)) return { ok: false, reason: `it yields two ${info.kind}s named ${JSON.stringify(name)}` };
    seen.add(name);
    const original = originals.get(name);
    if (original && original.json === JSON.stringify(json)) {
      out.push(original.resource);
      continue;
    }
    let resource: XdsResource;
    try {
      resource = toResource(info.schema, name, json);
    } catch (err) {
      return { ok: false, reason: `${info.kind} ${name}: ${(err as Error).message}` };
    }
    const { schema, message } = unpackAny(resource.resource);
    const issues = validateMessage(schema, message, { rejectUnknownAny: true, maxIssues: 1 });
    if (issues.length > 0) return { ok: false, reason: `${info.kind} ${name}: ${issues[0].path || "(root)"}: ${issues[0].message}` };
    out.push(resource);
  }
  return { ok: true, resources: out };
}

/** One patch pass and its check; a patch that throws (a deprecated `config` that does not fit its filter) fails the pass instead of the push, like istiod's HandleCrash. */
function attempt(push: MeshPushContext, proxy: ProxyInfo, typeUrl: string, info: TypeInfo, patches: readonly EnvoyFilterPatch[], jsons: readonly JsonObject[], originals: ReadonlyMap<string, { json: string; resource: XdsResource }>): Outcome {
  try {
    return check(info, run(push, proxy, typeUrl, patchSetOf(patches), jsons), originals);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

function report(push: MeshPushContext, logger: Logger, proxy: ProxyInfo, ref: EnvoyFilterRef, reason: string): void {
  const message = `${ref.label} is not applied: ${reason}; the proxies it selects keep their config without it until it is fixed`;
  const key = `ef-error|${message}`;
  if (push.cache.has(key)) return;
  push.cache.set(key, true);
  push.runtimeErrors.push({ origin: ref.origin, object: ref.label, field: "spec.configPatches", reason: message });
  logger.warn({ envoyFilter: `${ref.namespace}/${ref.name}`, proxy: proxy.id, reason }, message);
}

/** The patches for `proxy` (computed once per config key and push). */
export function patchesFor(push: MeshPushContext, proxy: ProxyInfo): readonly EnvoyFilterPatch[] {
  const key = `ef|${push.configKey(proxy)}`;
  let patches = push.cache.get(key) as EnvoyFilterPatch[] | undefined;
  if (!patches) push.cache.set(key, (patches = selectPatches(push.envoyFilters, proxy)));
  return patches;
}

/** `resources` of `typeUrl` generated for `proxy`, with its EnvoyFilters applied (the same array when none apply). */
export function applyEnvoyFilters(push: MeshPushContext, proxy: ProxyInfo, typeUrl: string, resources: XdsResource[], logger: Logger): XdsResource[] {
  const info = TYPES.get(typeUrl);
  // Proxyless gRPC gets no EnvoyFilters from istiod either: its xDS client is not Envoy.
  if (!info || proxy.generator === "grpc" || push.envoyFilters.size === 0) return resources;
  const patches = patchesFor(push, proxy).filter((p) => info.applyTo.includes(p.applyTo));
  if (patches.length === 0) return resources;
  const originals = new Map<string, { json: string; resource: XdsResource }>();
  const jsons = resources.map((r) => {
    const { schema, message } = unpackAny(r.resource);
    const json = toEnvoyJson(schema, message) as JsonObject;
    originals.set(r.name, { json: JSON.stringify(json), resource: r });
    return json;
  });
  const all = attempt(push, proxy, typeUrl, info, patches, jsons, originals);
  if (all.ok) return all.resources;
  // Find the culprits: add the EnvoyFilters one at a time (keeping istiod's order) and drop each that breaks the result.
  const sources = [...new Map(patches.map((p) => [p.source.label, p.source])).values()];
  let accepted: EnvoyFilterPatch[] = [];
  let result: XdsResource[] = resources;
  for (const source of sources) {
    const trial = patches.filter((p) => p.source.label === source.label || accepted.includes(p));
    const outcome = attempt(push, proxy, typeUrl, info, trial, jsons, originals);
    if (outcome.ok) {
      accepted = trial;
      result = outcome.resources;
    } else report(push, logger, proxy, source, outcome.reason);
  }
  return result;
}
