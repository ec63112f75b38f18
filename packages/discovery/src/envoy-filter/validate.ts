// Reads and checks an EnvoyFilter spec as istiod's validation webhook does
// (pkg/config/validation/envoyfilter): applyTo, patch and operation are
// required and known, a value is required unless REMOVE and must be a map
// that parses as the applyTo's Envoy message, the proxyVersion regex
// compiles, the match kind fits the applyTo (listener matches for listener
// objects, routeConfiguration for routes, cluster for clusters), a filter
// match has a name, a subFilter only for HTTP_FILTER under the HTTP
// connection manager. Every problem is a field error on the object, so a bad
// EnvoyFilter is refused whole and nothing else is lost.
import type { JsonObject } from "@bufbuild/protobuf";
import type { FieldChecker, Json } from "../source/field-checker.js";
import { isObject } from "../source/field-checker.js";
import { canonicalFilterName, HCM_NAME } from "./filter-names.js";
import { APPLY_TO, CONTEXTS, FILTER_CLASSES, OPERATIONS, ROUTE_ACTIONS, type ApplyTo, type EnvoyFilterPatch, type EnvoyFilterRef, type ListenerMatch, type Operation, type PatchContext, type RouteConfigurationMatch } from "./types.js";
import { canonicalValue } from "./value.js";

const LISTENER_CLASS: ReadonlySet<ApplyTo> = new Set(["LISTENER", "FILTER_CHAIN", "NETWORK_FILTER", "HTTP_FILTER", "LISTENER_FILTER"]);
const ROUTE_CLASS: ReadonlySet<ApplyTo> = new Set(["ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE"]);

function listenerMatchOf(value: unknown, path: string, applyTo: ApplyTo, c: FieldChecker): ListenerMatch | undefined {
  const m = c.object_(value, path);
  if (!m) return undefined;
  const out: ListenerMatch = {};
  if (m.portNumber !== undefined) out.portNumber = c.port(m.portNumber, `${path}.portNumber`);
  if (m.name !== undefined) out.name = c.string(m.name, `${path}.name`);
  if (m.listenerFilter !== undefined) {
    const name = c.string(m.listenerFilter, `${path}.listenerFilter`);
    if (name) out.listenerFilter = canonicalFilterName(name);
  }
  const fc = c.object_(m.filterChain, `${path}.filterChain`);
  if (!fc) return out;
  const chain: NonNullable<ListenerMatch["filterChain"]> = {};
  for (const key of ["name", "sni", "transportProtocol", "applicationProtocols"] as const) {
    if (fc[key] !== undefined) chain[key] = c.string(fc[key], `${path}.filterChain.${key}`);
  }
  if (fc.destinationPort !== undefined) chain.destinationPort = c.port(fc.destinationPort, `${path}.filterChain.destinationPort`);
  const f = c.object_(fc.filter, `${path}.filterChain.filter`);
  if (f) {
    const fpath = `${path}.filterChain.filter`;
    const name = c.string(f.name, `${fpath}.name`, true);
    // With applyTo LISTENER or FILTER_CHAIN a filter match has no effect; istiod only warns (backwards compatibility), so it is accepted and ignored.
    const sub = c.object_(f.subFilter, `${fpath}.subFilter`);
    let subFilter: { name: string } | undefined;
    if (sub) {
      if (applyTo !== "HTTP_FILTER") c.fail(`${fpath}.subFilter`, `a subFilter match can be used with applyTo HTTP_FILTER only, not ${applyTo}`);
      if (name !== undefined && canonicalFilterName(name) !== HCM_NAME) c.fail(`${fpath}.name`, `a subFilter match requires the filter match to be ${HCM_NAME}, got ${JSON.stringify(name)}`);
      const subName = c.string(sub.name, `${fpath}.subFilter.name`, true);
      if (subName) subFilter = { name: canonicalFilterName(subName) };
    }
    if (name) chain.filter = { name: canonicalFilterName(name), ...(subFilter ? { subFilter } : {}) };
  }
  out.filterChain = chain;
  return out;
}

function routeMatchOf(value: unknown, path: string, c: FieldChecker): RouteConfigurationMatch | undefined {
  const m = c.object_(value, path);
  if (!m) return undefined;
  const out: RouteConfigurationMatch = {};
  if (m.portNumber !== undefined) out.portNumber = c.port(m.portNumber, `${path}.portNumber`);
  for (const key of ["portName", "gateway", "name"] as const) if (m[key] !== undefined) out[key] = c.string(m[key], `${path}.${key}`);
  const vh = c.object_(m.vhost, `${path}.vhost`);
  if (vh) {
    out.vhost = {};
    if (vh.name !== undefined) out.vhost.name = c.string(vh.name, `${path}.vhost.name`);
    if (vh.domainName !== undefined) out.vhost.domainName = c.string(vh.domainName, `${path}.vhost.domainName`);
    const r = c.object_(vh.route, `${path}.vhost.route`);
    if (r) {
      out.vhost.route = {};
      if (r.name !== undefined) out.vhost.route.name = c.string(r.name, `${path}.vhost.route.name`);
      if (r.action !== undefined) out.vhost.route.action = c.oneOf(r.action, `${path}.vhost.route.action`, ROUTE_ACTIONS) as (typeof ROUTE_ACTIONS)[number] | undefined;
    }
  }
  return out;
}

function patchOf(raw: unknown, i: number, ref: EnvoyFilterRef, c: FieldChecker): EnvoyFilterPatch | undefined {
  const path = `spec.configPatches[${i}]`;
  const cp = c.object_(raw, path);
  if (!cp) {
    c.fail(path, "a config patch must be a map with applyTo, match and patch");
    return undefined;
  }
  if (cp.applyTo === undefined) c.fail(`${path}.applyTo`, `is required; one of ${APPLY_TO.join(", ")}`);
  const applyTo = cp.applyTo === undefined ? undefined : (c.oneOf(cp.applyTo, `${path}.applyTo`, APPLY_TO) as ApplyTo | undefined);
  const patch = c.object_(cp.patch, `${path}.patch`);
  if (!patch) c.fail(`${path}.patch`, "is required (operation and, unless REMOVE, value)");
  if (patch && patch.operation === undefined) c.fail(`${path}.patch.operation`, `is required; one of ${OPERATIONS.join(", ")}`);
  const operation = patch?.operation === undefined ? undefined : (c.oneOf(patch.operation, `${path}.patch.operation`, OPERATIONS) as Operation | undefined);
  if (patch?.filterClass !== undefined) c.oneOf(patch.filterClass, `${path}.patch.filterClass`, FILTER_CLASSES);
  const match: Json = c.object_(cp.match, `${path}.match`) ?? {};
  const context = (match.context === undefined ? "ANY" : c.oneOf(match.context, `${path}.match.context`, CONTEXTS)) as PatchContext | undefined;
  const proxyMatch = c.object_(match.proxy, `${path}.match.proxy`);
  if (proxyMatch?.proxyVersion !== undefined) c.regex(proxyMatch.proxyVersion, `${path}.match.proxy.proxyVersion`);
  const metadata = proxyMatch ? (c.stringMap(proxyMatch.metadata, `${path}.match.proxy.metadata`) ?? {}) : {};
  const kinds = (["listener", "routeConfiguration", "cluster"] as const).filter((k) => match[k] !== undefined && match[k] !== null);
  if (kinds.length > 1) c.fail(`${path}.match`, `set at most one of listener, routeConfiguration, cluster; got ${kinds.join(", ")}`);
  if (!applyTo || !operation || !patch || !context) return undefined;
  const kind = kinds[0];
  if (kind && LISTENER_CLASS.has(applyTo) && kind !== "listener") c.fail(`${path}.match.${kind}`, `applyTo ${applyTo} needs a listener match, not ${kind}`);
  if (kind && ROUTE_CLASS.has(applyTo) && kind !== "routeConfiguration") c.fail(`${path}.match.${kind}`, `applyTo ${applyTo} needs a routeConfiguration match, not ${kind}`);
  if (kind && applyTo === "CLUSTER" && kind !== "cluster") c.fail(`${path}.match.${kind}`, `applyTo CLUSTER needs a cluster match, not ${kind}`);
  const out: EnvoyFilterPatch = { source: ref, index: i, applyTo, operation, context };
  if (proxyMatch) out.proxy = { ...(typeof proxyMatch.proxyVersion === "string" && proxyMatch.proxyVersion !== "" ? { version: proxyMatch.proxyVersion } : {}), metadata };
  if (kind === "listener") out.listener = listenerMatchOf(match.listener, `${path}.match.listener`, applyTo, c);
  if (kind === "routeConfiguration") out.routeConfiguration = routeMatchOf(match.routeConfiguration, `${path}.match.routeConfiguration`, c);
  if (kind === "cluster") {
    const m = c.object_(match.cluster, `${path}.match.cluster`) ?? {};
    out.cluster = {};
    if (m.portNumber !== undefined) out.cluster.portNumber = c.port(m.portNumber, `${path}.match.cluster.portNumber`);
    for (const key of ["service", "subset", "name"] as const) if (m[key] !== undefined) out.cluster[key] = c.string(m[key], `${path}.match.cluster.${key}`);
  }
  if (operation !== "REMOVE") {
    if (patch.value === undefined || patch.value === null) c.fail(`${path}.patch.value`, `is required for ${operation}`);
    else if (!isObject(patch.value)) c.fail(`${path}.patch.value`, `must be a map (the ${applyTo} in Envoy's YAML form), got ${JSON.stringify(patch.value)?.slice(0, 60)}`);
    else {
      try {
        const v = canonicalValue(applyTo, patch.value as JsonObject);
        out.value = v.value;
        if (v.rawConfig) {
          if (operation !== "MERGE") c.fail(`${path}.patch.value.config`, `the deprecated config needs a known filter name for ${operation}; write typed_config with an @type instead`);
          out.rawConfig = v.rawConfig;
        }
      } catch (err) {
        c.fail(`${path}.patch.value`, (err as Error).message);
      }
    }
  }
  // istiod turns INSERT_* into ADD where there is no list position to insert at.
  if (operation.startsWith("INSERT_") && !["HTTP_FILTER", "NETWORK_FILTER", "HTTP_ROUTE", "LISTENER_FILTER"].includes(applyTo)) out.operation = "ADD";
  return out;
}

export interface ReadEnvoyFilter {
  patches: EnvoyFilterPatch[];
  selector?: Readonly<Record<string, string>>;
  targetRefs: boolean;
  priority: number;
}

/** Checks `spec` into `c` and returns what it says (partial when `c` has errors). */
export function readEnvoyFilter(spec: Json, ref: EnvoyFilterRef, c: FieldChecker): ReadEnvoyFilter {
  const sel = c.object_(spec.workloadSelector, "spec.workloadSelector");
  const selector = sel ? c.stringMap(sel.labels, "spec.workloadSelector.labels") : undefined;
  const targetRefs = c.array(spec.targetRefs, "spec.targetRefs").length > 0 || c.object_(spec.targetRef, "spec.targetRef") !== undefined;
  if (sel && targetRefs) c.fail("spec.targetRefs", "set either workloadSelector or targetRefs, not both");
  const priority = c.integer(spec.priority, "spec.priority", -(2 ** 31), 2 ** 31 - 1) ?? 0;
  const patches: EnvoyFilterPatch[] = [];
  c.array(spec.configPatches, "spec.configPatches").forEach((raw, i) => {
    const p = patchOf(raw, i, ref, c);
    if (p) patches.push(p);
  });
  return { patches, ...(sel ? { selector: selector ?? {} } : {}), targetRefs, priority };
}

/** The source-side check (validate-object.ts): errors only. */
export function validateEnvoyFilter(spec: Json, c: FieldChecker, ref: EnvoyFilterRef): void {
  readEnvoyFilter(spec, ref, c);
}
