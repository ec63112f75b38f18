// Which EnvoyFilter patches apply to a proxy, in istiod's order
// (PushContext.EnvoyFilters): the root namespace's EnvoyFilters apply to every
// proxy, another namespace's only to its own proxies; a workloadSelector
// narrows to pods whose labels include its labels; targetRefs never match
// (istiod does not apply them either). Sorted by priority, then root namespace
// first, then creation time, then `name.namespace`; within that order each
// patch must also match the proxy (match.proxy: ISTIO_VERSION regex, node
// metadata values).
import { RE2 } from "re2-wasm";
import type { ConfigError, ProxyInfo } from "../contracts.js";
import type { IstioConfig } from "../push-context/istio-config.js";
import { FieldChecker } from "../source/field-checker.js";
import { SUPPORTED_APPLY_TO, type ApplyTo, type EnvoyFilterPatch, type EnvoyFilterRef, type PatchSet } from "./types.js";
import { readEnvoyFilter, type ReadEnvoyFilter } from "./validate.js";

export interface CompiledEnvoyFilter extends ReadEnvoyFilter {
  ref: EnvoyFilterRef;
  creationTimestamp: string;
}

export interface EnvoyFilterIndex {
  readonly rootNamespace: string;
  readonly byNamespace: ReadonlyMap<string, readonly CompiledEnvoyFilter[]>;
  /** Patches with a match.proxy: their outcome is part of a proxy's config key. */
  readonly proxyDependent: readonly EnvoyFilterPatch[];
  readonly size: number;
}

// The source has already validated these specs; reading them again is only
// to get the compiled form, so remember it per spec object (unchanged files
// keep their objects across snapshots).
const compiled = new WeakMap<object, ReadEnvoyFilter>();

function compile(c: IstioConfig): CompiledEnvoyFilter {
  const ref: EnvoyFilterRef = { namespace: c.namespace, name: c.name, label: `EnvoyFilter ${c.namespace}/${c.name}`, origin: c.origin };
  let read = compiled.get(c.spec);
  if (!read) {
    read = readEnvoyFilter(c.spec, ref, new FieldChecker(c.origin, ref.label));
    compiled.set(c.spec, read);
  }
  // Patches carry their source; a cached read may come from an object with the same spec elsewhere.
  const patches = read.patches.map((p) => (p.source.label === ref.label ? p : { ...p, source: ref }));
  return { ...read, patches, ref, creationTimestamp: c.creationTimestamp ?? "" };
}

export function buildEnvoyFilterIndex(configs: readonly IstioConfig[], rootNamespace: string): { index: EnvoyFilterIndex; errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  const byNamespace = new Map<string, CompiledEnvoyFilter[]>();
  const proxyDependent: EnvoyFilterPatch[] = [];
  let size = 0;
  for (const c of configs) {
    if (c.kind !== "EnvoyFilter") continue;
    const ef = compile(c);
    if (ef.targetRefs) {
      errors.push({ origin: ef.ref.origin, object: ef.ref.label, field: "spec.targetRefs", reason: "targetRefs is not supported (istiod does not apply such EnvoyFilters either): this EnvoyFilter applies to no proxy; select workloads with workloadSelector.labels instead" });
    }
    const supported = ef.patches.filter((p) => {
      if (SUPPORTED_APPLY_TO.has(p.applyTo)) return true;
      errors.push({ origin: ef.ref.origin, object: ef.ref.label, field: `spec.configPatches[${p.index}].applyTo`, reason: `applyTo ${p.applyTo} is not supported by Weft yet; this patch is skipped, the EnvoyFilter's other patches apply` });
      return false;
    });
    proxyDependent.push(...supported.filter((p) => p.proxy));
    const list = byNamespace.get(ef.ref.namespace) ?? [];
    list.push({ ...ef, patches: supported });
    byNamespace.set(ef.ref.namespace, list);
    size++;
  }
  return { index: { rootNamespace, byNamespace, proxyDependent, size }, errors };
}

const versionRegexes = new Map<string, RE2>();

/** match.proxy: the version regex (unanchored, as Go's MatchString) against ISTIO_VERSION; metadata values must be equal strings. */
export function proxyMatches(proxy: ProxyInfo, p: EnvoyFilterPatch): boolean {
  if (!p.proxy) return true;
  if (p.proxy.version !== undefined) {
    const version = proxy.metadata.ISTIO_VERSION;
    if (typeof version !== "string" || version === "") return false;
    let re = versionRegexes.get(p.proxy.version);
    if (!re) versionRegexes.set(p.proxy.version, (re = new RE2(p.proxy.version, "u")));
    if (!re.test(version)) return false;
  }
  return Object.entries(p.proxy.metadata).every(([k, v]) => proxy.metadata[k] === v);
}

function selects(ef: CompiledEnvoyFilter, proxy: ProxyInfo): boolean {
  if (ef.targetRefs) return false;
  return !ef.selector || Object.entries(ef.selector).every(([k, v]) => proxy.labels[k] === v);
}

function compare(root: string): (a: CompiledEnvoyFilter, b: CompiledEnvoyFilter) => number {
  return (a, b) => {
    if (a.priority !== b.priority) return a.priority - b.priority;
    if (a.ref.namespace !== b.ref.namespace && (a.ref.namespace === root || b.ref.namespace === root)) return a.ref.namespace === root ? -1 : 1;
    if (a.creationTimestamp !== b.creationTimestamp) return a.creationTimestamp < b.creationTimestamp ? -1 : 1;
    const an = `${a.ref.name}.${a.ref.namespace}`;
    const bn = `${b.ref.name}.${b.ref.namespace}`;
    return an < bn ? -1 : an > bn ? 1 : 0;
  };
}

/** The EnvoyFilters that apply to `proxy`, in order. */
export function selectEnvoyFilters(index: EnvoyFilterIndex, proxy: ProxyInfo): CompiledEnvoyFilter[] {
  const namespaces = proxy.namespace === index.rootNamespace ? [index.rootNamespace] : [index.rootNamespace, proxy.namespace];
  return namespaces.flatMap((ns) => (index.byNamespace.get(ns) ?? []).filter((ef) => selects(ef, proxy))).sort(compare(index.rootNamespace));
}

/** Groups patches by applyTo, keeping their order. */
export function patchSetOf(patches: readonly EnvoyFilterPatch[]): PatchSet {
  const set = new Map<ApplyTo, EnvoyFilterPatch[]>();
  for (const p of patches) set.set(p.applyTo, [...(set.get(p.applyTo) ?? []), p]);
  return set;
}

/** The patches that apply to `proxy`, in order, ungrouped. */
export function selectPatches(index: EnvoyFilterIndex, proxy: ProxyInfo): EnvoyFilterPatch[] {
  return selectEnvoyFilters(index, proxy).flatMap((ef) => ef.patches.filter((p) => proxyMatches(proxy, p)));
}

/** The part of a config key that EnvoyFilter proxy matches add: which of them this proxy matches. */
export function proxyMatchKey(index: EnvoyFilterIndex, proxy: ProxyInfo): string {
  if (index.proxyDependent.length === 0) return "";
  return `|ef:${index.proxyDependent.map((p) => (proxyMatches(proxy, p) ? "1" : "0")).join("")}`;
}
