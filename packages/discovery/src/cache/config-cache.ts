// The per-proxy config cache: turns (proxy, push context, type, subscribed
// names) into a versioned snapshot, computing identical configs once.
// Non-EDS types are cached per (configKey, type, names) for the life of a push
// context; EDS per (configKey, locality, cluster) and survives EDS-only pushes
// except for the clusters of the services that changed. The cache knows
// nothing of gRPC or streams (go-control-plane's split); the server asks it.
import { createHash } from "node:crypto";
import { TypeUrl, type ResourceSnapshot as TypeSnapshot, type VersionedResource as SnapshotResource } from "@weft/xds-api";
import type { ProxyInfo, PushContext, XdsGenerator, XdsResource } from "../contracts.js";

export interface ConfigCacheOptions {
  /** One generator per type URL it produces; other types get empty snapshots. */
  generators: ReadonlyMap<string, XdsGenerator>;
}

export interface CacheStats {
  hits: number;
  misses: number;
  edsClusters: number;
  entries: number;
}

export interface ConfigCache {
  /**
   * Installs a new push context. `endpointServices` set = incremental change
   * (no full push) for those service FQDNs; returns the cluster names whose
   * assignments were dropped (every cluster any proxy watches that belongs to
   * those services). With `secrets` (`namespace/name`) non-empty in an
   * incremental change, SDS snapshots are dropped too.
   */
  update(push: PushContext, endpointServices?: ReadonlySet<string>, secrets?: ReadonlySet<string>): string[];
  current(): PushContext | undefined;
  generates(typeUrl: string): boolean;
  snapshot(proxy: ProxyInfo, typeUrl: string, names: readonly string[] | "*"): TypeSnapshot;
  stats(): CacheStats;
}

const EDS = TypeUrl.ClusterLoadAssignment;
const SDS = TypeUrl.Secret;
const EMPTY: TypeSnapshot = { version: "empty", resources: new Map() };

/** The service FQDN of an Istio cluster name `outbound|port|subset|fqdn`, or undefined for other shapes. */
export function serviceOfCluster(clusterName: string): string | undefined {
  const parts = clusterName.split("|");
  return parts.length === 4 && parts[3] ? parts[3] : undefined;
}

/** A version for a set of resources: stable for identical content, independent of order. */
export function versionOf(resources: Iterable<SnapshotResource>): string {
  const entries = [...resources].map((r) => `${r.name}\u0000${r.version}`).sort();
  const hash = createHash("sha256");
  for (const e of entries) hash.update(e).update("\u0001");
  return hash.digest("base64url").slice(0, 16);
}

function snapshotOf(resources: Iterable<XdsResource>): TypeSnapshot {
  const map = new Map<string, SnapshotResource>();
  for (const r of resources) map.set(r.name, r);
  return { version: versionOf(map.values()), resources: map };
}

/** The cache key of a names list; memoized per array (connections hand out the same array until their subscription changes). */
const namesKeys = new WeakMap<readonly string[], string>();
export function namesKey(names: readonly string[]): string {
  let key = namesKeys.get(names);
  if (key === undefined) namesKeys.set(names, (key = names.join(",")));
  return key;
}

/**
 * SDS depends on who the stream was authenticated as (nothing without an
 * identity), which the config key does not hold: a gateway on the plaintext
 * port must never share the snapshot of one on the TLS port.
 */
function identityKey(proxy: ProxyInfo): string {
  const id = proxy.verifiedIdentity;
  return id ? `${id.namespace}/${id.serviceAccount}` : "-";
}

function localityKey(proxy: ProxyInfo): string {
  const l = proxy.node.locality;
  return l ? `${l.region}/${l.zone}/${l.subZone}` : "";
}

export function createConfigCache(options: ConfigCacheOptions): ConfigCache {
  let push: PushContext | undefined;
  /** `${configKey}\0${type}\0${names}` → snapshot, for the current push context. */
  let byKey = new Map<string, TypeSnapshot>();
  /** SDS snapshots, `${identity}\0${names}` → snapshot; dropped when Secrets change. */
  let sdsByKey = new Map<string, TypeSnapshot>();
  /** cluster → `${configKey}\0${locality}` → its assignment (null: the generator has none). */
  const edsByCluster = new Map<string, Map<string, SnapshotResource | null>>();
  /** EDS snapshots per proxy key, then per names key; dropped whenever any cluster changes. */
  let edsSnapshots = new Map<string, Map<string, TypeSnapshot>>();
  /** Whole-type EDS (wildcard subscriptions, rare: Envoy names its clusters). */
  let edsWildcard = new Map<string, TypeSnapshot>();
  let hits = 0;
  let misses = 0;

  function edsSnapshot(proxy: ProxyInfo, ctx: PushContext, generator: XdsGenerator, names: readonly string[] | "*"): TypeSnapshot {
    const proxyKey = `${ctx.configKey(proxy)}\u0000${localityKey(proxy)}`;
    if (names === "*") {
      let snap = edsWildcard.get(proxyKey);
      if (!snap) {
        misses++;
        edsWildcard.set(proxyKey, (snap = snapshotOf(generator.generate(proxy, ctx, EDS))));
      } else hits++;
      return snap;
    }
    // Two-level lookup: the names key is long (every cluster name) but memoized
    // per array, so its hash is computed once, not on every push per proxy.
    let byNames = edsSnapshots.get(proxyKey);
    if (!byNames) edsSnapshots.set(proxyKey, (byNames = new Map()));
    const snapKey = namesKey(names);
    const cached = byNames.get(snapKey);
    if (cached) {
      hits++;
      return cached;
    }
    const missing: string[] = [];
    for (const name of names) {
      if (!edsByCluster.get(name)?.has(proxyKey)) missing.push(name);
    }
    if (missing.length) {
      misses++;
      const generated = new Map(generator.generate(proxy, ctx, EDS, missing).map((r) => [r.name, r]));
      for (const name of missing) {
        let perKey = edsByCluster.get(name);
        if (!perKey) edsByCluster.set(name, (perKey = new Map()));
        perKey.set(proxyKey, generated.get(name) ?? null);
      }
    } else hits++;
    const resources = new Map<string, SnapshotResource>();
    for (const name of names) {
      const r = edsByCluster.get(name)?.get(proxyKey);
      if (r) resources.set(name, r);
    }
    const snap = { version: versionOf(resources.values()), resources };
    byNames.set(snapKey, snap);
    return snap;
  }

  return {
    update(next, endpointServices, secrets) {
      const previous = push;
      push = next;
      edsSnapshots = new Map();
      edsWildcard = new Map();
      if (!previous || !endpointServices) {
        byKey = new Map();
        sdsByKey = new Map();
        edsByCluster.clear();
        return [];
      }
      if (secrets && secrets.size > 0) sdsByKey = new Map();
      // EDS-only: everything else is unchanged; forget only the affected clusters.
      const dropped: string[] = [];
      for (const cluster of [...edsByCluster.keys()]) {
        const service = serviceOfCluster(cluster);
        if (service === undefined || endpointServices.has(service)) {
          edsByCluster.delete(cluster);
          dropped.push(cluster);
        }
      }
      return dropped;
    },
    current: () => push,
    generates: (typeUrl) => options.generators.has(typeUrl),
    snapshot(proxy, typeUrl, names) {
      const generator = options.generators.get(typeUrl);
      if (!push || !generator) return EMPTY;
      if (typeUrl === EDS) return edsSnapshot(proxy, push, generator, names);
      const sds = typeUrl === SDS;
      const cache = sds ? sdsByKey : byKey;
      // SDS output depends only on the verified identity and the names asked for.
      const key = `${sds ? identityKey(proxy) : `${push.configKey(proxy)}\u0000${typeUrl}`}\u0000${names === "*" ? "*" : namesKey(names)}`;
      let snap = cache.get(key);
      if (snap) {
        hits++;
        return snap;
      }
      misses++;
      let resources = generator.generate(proxy, push, typeUrl, names === "*" ? undefined : names);
      if (names !== "*") {
        const wanted = new Set(names);
        resources = resources.filter((r) => wanted.has(r.name));
      }
      cache.set(key, (snap = snapshotOf(resources)));
      return snap;
    },
    stats: () => ({ hits, misses, edsClusters: edsByCluster.size, entries: byKey.size + sdsByKey.size + edsSnapshots.size }),
  };
}
