// The data path behind the ProxyRuntime seam: compiles xDS resources once
// (one compiler per kind), swaps them in make-before-break, and owns the live
// listeners, route tables and clusters.
import { resolve as resolvePath } from "node:path";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { TypeUrl, unpackAny } from "@weft/xds-api";
import { ClusterSchema, type Cluster as ClusterProto } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from "@weft/xds-api/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema, type Listener } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb.js";
import type { Bootstrap } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb.js";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import {
  ResourceRejectedError,
  type ClusterHostStatus,
  type DumpEntry,
  type ProxyRuntime,
  type ProxyRuntimeOptions,
  type ResourceUpdate,
} from "../contracts.js";
import { createDefaultHttpFilters } from "../http/filters/default-filters.js";
import type { HttpFilterRegistry } from "../http/http-filter.js";
import { createListenerManager } from "../listener/listener-manager.js";
import { createCluster, type Cluster } from "../upstream/cluster.js";
import { circuitBreakerLines } from "../upstream/resource-manager.js";
import { compileCluster } from "./compile-cluster.js";
import { compileAssignment, type CompiledAssignment } from "./compile-endpoints.js";
import { compileListener, type ListenerConfig } from "./compile-listener.js";
import { compileRouteConfig, type CompiledRouteConfig } from "./compile-route-config.js";
import { buildChains, type ChainDeps } from "./build-chains.js";
import { createRuntimeSecrets } from "../tls/runtime-secrets.js";
import { SharedBucketTable } from "./shared-bucket-table.js";

interface Entry<T> {
  name: string;
  version: string;
  lastUpdated: Date;
  resource: Any;
  static: boolean;
  value: T;
}

export interface ProxyRuntimeExtras {
  /** Extra HTTP filters (rbac, jwt_authn…) registered by type URL. */
  httpFilters?: HttpFilterRegistry;
  /** Deterministic randomness for tests. */
  random?: () => number;
}

export interface WeftProxyRuntime extends ProxyRuntime {
  /** The port a listener actually bound (port 0 in tests). */
  boundPort(listenerName: string): number | undefined;
}

export function createProxyRuntime(options: ProxyRuntimeOptions & ProxyRuntimeExtras): WeftProxyRuntime {
  const log = options.logger.child({ component: "data-path" });
  const random = options.random ?? Math.random;
  const filters =
    options.httpFilters ??
    createDefaultHttpFilters({
      shared: options.rateLimitBuckets && new SharedBucketTable(options.rateLimitBuckets),
      logger: log,
      unsharedNote: options.rateLimitBucketsUnsharedNote,
    });
  const report = options.reportUnsupported;
  const clusters = new Map<string, Entry<Cluster>>();
  const endpoints = new Map<string, Entry<CompiledAssignment>>();
  const routes = new Map<string, Entry<CompiledRouteConfig>>();
  const listeners = new Map<string, Entry<ListenerConfig>>();
  const warmingListeners = new Map<string, Entry<ListenerConfig>>();
  const listenerMgr = createListenerManager({ stats: options.stats, logger: log, connectionLimits: options.connectionLimits, workerThread: options.workerThread });
  if (options.connectionLimits) log.debug({ globalMaxConnections: options.connectionLimits.globalMax, source: options.connectionLimits.globalSource }, "downstream connection cap");
  let draining = false;
  let cdsPending = false;
  let ldsPending = false;
  let initDone = false;
  let initTimer: NodeJS.Timeout | undefined;
  const initListeners: Array<() => void> = [];
  // Secrets: static, SDS over ADS, SDS streams to static clusters (Istio's sds-grpc). Listeners and
  // clusters warm until theirs arrive; a rotation rebuilds contexts for new handshakes only.
  const secretHolds = new Map<string, () => void>();
  const secrets = createRuntimeSecrets({
    logger: log,
    stats: options.stats,
    report,
    nodeId: options.nodeId,
    serviceCluster: options.serviceCluster,
    clusterAddress(name) {
      const e = clusters.get(name)?.value.config.assignment?.endpoints[0];
      if (!e) return undefined;
      return e.pipe ? { kind: "unix", path: resolvePath(e.pipe) } : { kind: "tcp", host: e.address, port: e.port };
    },
    onSecretsChanged() {
      void activateWarmedListeners().then(checkInitialized, (err: unknown) => log.error({ err }, "listener activation after a secret update failed"));
    },
  });
  const listenerWarm = (l: ListenerConfig): boolean => listenerRdsNames(l).every((n) => routes.has(n)) && secrets.listenerReady(l);
  const chainDeps: ChainDeps = {
    stats: options.stats,
    logger: log,
    random,
    routes: (name) => routes.get(name)?.value,
    cluster: (name) => clusters.get(name)?.value,
    draining: () => draining,
    tlsContext: (spec) => secrets.tlsContext(spec),
  };

  function checkInitialized(): void {
    if (initDone || cdsPending || ldsPending) return;
    for (const c of clusters.values()) if (!c.value.warm) return;
    for (const name of rdsNames()) if (!routes.has(name)) return;
    // Envoy's init manager waits for listener warming too (their SDS secrets are init targets).
    for (const l of warmingListeners.values()) if (!secrets.listenerReady(l.value)) return;
    markInitialized();
  }
  function markInitialized(): void {
    if (initDone) return;
    initDone = true;
    clearTimeout(initTimer);
    for (const l of initListeners.splice(0)) l();
  }

  function listenerRdsNames(l: ListenerConfig): string[] {
    const out: string[] = [];
    for (const c of l.defaultChain ? [...l.chains, l.defaultChain] : l.chains) {
      if (c.terminal.kind === "http" && c.terminal.hcm.rdsName) out.push(c.terminal.hcm.rdsName);
    }
    return out;
  }

  function rdsNames(): string[] {
    const out = new Set<string>();
    for (const m of [listeners, warmingListeners]) for (const l of m.values()) for (const n of listenerRdsNames(l.value)) out.add(n);
    return [...out];
  }

  const compileDeps = {
    filters,
    accessLogs: options.accessLogs,
    report,
    // rbac / jwt_authn / ext_authz count stats and call clusters (remote JWKS, the authz service) at request time.
    runtime: { stats: options.stats, logger: log, cluster: (name: string) => clusters.get(name)?.value, node: { id: options.nodeId, metadata: options.nodeMetadata ?? {}, cluster: options.serviceCluster } },
    workers: options.connectionLimits?.workers,
  };

  function decode<S extends DescMessage>(r: { name: string; resource: Any }, schema: S): MessageShape<S> {
    try {
      return unpackAny(r.resource, schema) as MessageShape<S>;
    } catch (err) {
      throw new ResourceRejectedError(r.name, "", `cannot decode ${r.resource.typeUrl}: ${(err as Error).message}`);
    }
  }

  async function applyClusters(all: Array<{ name: string; version: string; resource: Any; msg: ClusterProto }>, removed: string[], isStatic: boolean): Promise<void> {
    // Envoy leaves a cluster whose config did not change alone (SotW CDS resends everything).
    const items = all.filter((i) => {
      const prev = clusters.get(i.name);
      if (prev && sameResource(prev.resource, i.resource)) {
        prev.version = i.version;
        return false;
      }
      return true;
    });
    const compiled = items.map((i) => {
      if (i.msg.name !== i.name) throw new ResourceRejectedError(i.name, "name", `resource name ${JSON.stringify(i.name)} differs from cluster name ${JSON.stringify(i.msg.name)}`);
      return { ...i, cfg: compileCluster(i.msg, report) };
    });
    const old: Cluster[] = [];
    for (const c of compiled) {
      const prev = clusters.get(c.name);
      if (prev?.static && !isStatic) throw new ResourceRejectedError(c.name, "name", "a static cluster with this name exists in the bootstrap");
      const cluster = createCluster(c.cfg, { stats: options.stats, logger: log, random, transport: secrets.clusterTransport(c.cfg) });
      if (c.cfg.type === "EDS") {
        const cla = endpoints.get(c.cfg.edsServiceName);
        if (cla) cluster.setAssignment(cla.value);
        else void cluster.ready.then(checkInitialized);
      }
      clusters.set(c.name, { name: c.name, version: c.version, lastUpdated: new Date(), resource: c.resource, static: isStatic, value: cluster });
      if (prev) old.push(prev.value);
    }
    for (const n of removed) {
      const prev = clusters.get(n);
      if (prev && !prev.static) {
        clusters.delete(n);
        old.push(prev.value);
      }
    }
    // Make-before-break: in-flight requests hold their own references; pools close after a grace period.
    // Health checking and outlier timers of a replaced or removed cluster stop at once.
    for (const c of old) c.retire();
    if (old.length) setTimeout(() => void Promise.all(old.map((c) => c.close())), 10_000).unref();
  }

  async function applyListeners(items: Array<{ name: string; version: string; resource: Any; msg: Listener }>, removed: string[], isStatic: boolean): Promise<void> {
    const changed = items.filter((i) => {
      const prev = listeners.get(i.name);
      if (prev && sameResource(prev.resource, i.resource) && !warmingListeners.has(i.name)) {
        prev.version = i.version;
        return false;
      }
      const warming = warmingListeners.get(i.name);
      if (warming && sameResource(warming.resource, i.resource)) {
        warming.version = i.version;
        return false;
      }
      return true;
    });
    const compiled = changed.map((i) => ({ ...i, cfg: compileListener(i.msg, compileDeps) }));
    for (const c of compiled) {
      const entry: Entry<ListenerConfig> = { name: c.name, version: c.version, lastUpdated: new Date(), resource: c.resource, static: isStatic, value: c.cfg };
      secretHolds.get(c.name)?.();
      secretHolds.delete(c.name);
      if (listenerWarm(c.cfg)) {
        warmingListeners.delete(c.name);
        await activateListener(entry);
      } else {
        // Envoy warms a listener until its RDS route configs and SDS secrets arrive; the old one (if any) keeps serving.
        warmingListeners.set(c.name, entry);
        secretHolds.set(c.name, secrets.hold(c.cfg));
        // Each of the listener's init targets (its RDS and SDS subscriptions) gives up after its
        // initial_fetch_timeout (15 s for RDS here); the listener goes active once all have.
        const sdsWait = secrets.missing(c.cfg).waitMs;
        const rdsWait = listenerRdsNames(c.cfg).some((n) => !routes.has(n)) ? 15_000 : 0;
        const t = setTimeout(() => {
          if (warmingListeners.get(c.name) !== entry) return;
          const missing = secrets.missing(entry.value);
          // Istio's workload certificate waits forever (initial_fetch_timeout 0): a chain without it never serves.
          if (missing.waitMs === undefined) return void log.warn({ listener: c.name, secrets: missing.names }, "still waiting for SDS secrets that have no initial_fetch_timeout; the listener stays warming");
          if (missing.names.length > 0) {
            log.warn({ listener: c.name, secrets: missing.names }, "SDS secrets did not arrive within their initial_fetch_timeout; activating the listener: chains that need them refuse handshakes until they arrive (check the secrets exist where discovery reads them)");
          } else log.warn({ listener: c.name }, "RDS did not arrive within 15 s; activating the listener anyway");
          warmingListeners.delete(c.name);
          void activateListener(entry).then(checkInitialized, (err: unknown) => log.error({ err, listener: c.name }, "listener activation failed"));
        }, Math.max(rdsWait, sdsWait ?? 0));
        t.unref();
      }
    }
    for (const n of removed) {
      warmingListeners.delete(n);
      secretHolds.get(n)?.();
      secretHolds.delete(n);
      const prev = listeners.get(n);
      if (prev && !prev.static) {
        listeners.delete(n);
        await listenerMgr.remove(n);
      }
    }
  }

  async function activateListener(entry: Entry<ListenerConfig>): Promise<void> {
    const { chains, defaultChain } = buildChains(entry.value, chainDeps);
    try {
      await listenerMgr.upsert(entry.value, chains, defaultChain);
    } catch (err) {
      throw new ResourceRejectedError(entry.name, "address", (err as Error).message);
    }
    listeners.set(entry.name, entry);
    // The chains now watch their own secrets.
    secretHolds.get(entry.name)?.();
    secretHolds.delete(entry.name);
  }

  /** Activates warming listeners whose route configs have all arrived. */
  async function activateWarmedListeners(): Promise<void> {
    for (const [name, entry] of [...warmingListeners]) {
      if (!listenerWarm(entry.value)) continue;
      warmingListeners.delete(name);
      try {
        await activateListener(entry);
      } catch (err) {
        log.error({ err, listener: name }, "listener activation failed");
      }
    }
  }

  function sameResource(a: Any, b: Any): boolean {
    return a.typeUrl === b.typeUrl && Buffer.from(a.value.buffer, a.value.byteOffset, a.value.byteLength).equals(b.value);
  }

  function sotwRemoved<T>(map: Map<string, Entry<T>>, u: ResourceUpdate): string[] {
    if (!u.stateOfTheWorld) return [...u.removed];
    const keep = new Set(u.resources.map((r) => r.name));
    const names = [...map.values()].filter((e) => !e.static && !keep.has(e.name)).map((e) => e.name);
    if (map === (listeners as unknown)) for (const n of warmingListeners.keys()) if (!keep.has(n)) names.push(n);
    return names.concat(u.removed);
  }

  const runtime: WeftProxyRuntime = {
    async applyBootstrap(b: Bootstrap) {
      const sr = b.staticResources;
      secrets.setNode(b.node);
      // Static secrets first: static listeners and clusters may reference them.
      if (sr?.secrets.length) secrets.applyStatic(sr.secrets);
      if (sr) {
        await applyClusters(
          sr.clusters.map((c) => ({ name: c.name, version: "", resource: anyPack(ClusterSchema, c), msg: c })),
          [],
          true,
        );
        for (const c of sr.clusters) {
          // Static EDS clusters get their endpoints over ADS like dynamic ones.
          void c;
        }
        await applyListeners(
          sr.listeners.map((l) => ({ name: l.name, version: "", resource: anyPack(ListenerSchema, l), msg: l })),
          [],
          true,
        );
      }
      const dr = b.dynamicResources;
      cdsPending = !!dr?.cdsConfig;
      ldsPending = !!dr?.ldsConfig;
      // Envoy's initial_fetch_timeout (15 s default): go LIVE even if discovery never answers.
      initTimer = setTimeout(markInitialized, 15_000);
      initTimer.unref();
      checkInitialized();
    },

    async apply(u: ResourceUpdate) {
      switch (u.typeUrl) {
        case TypeUrl.Cluster: {
          const items = u.resources.map((r) => ({ ...r, msg: decode(r, ClusterSchema) }));
          await applyClusters(items, sotwRemoved(clusters, u), false);
          cdsPending = false;
          break;
        }
        case TypeUrl.ClusterLoadAssignment: {
          const compiled = u.resources.map((r) => {
            const cla: ClusterLoadAssignment = decode(r, ClusterLoadAssignmentSchema);
            return { ...r, value: compileAssignment(cla, r.name, "", false) };
          });
          for (const c of compiled) {
            endpoints.set(c.name, { name: c.name, version: c.version, lastUpdated: new Date(), resource: c.resource, static: false, value: c.value });
            for (const e of clusters.values()) if (e.value.config.type === "EDS" && e.value.config.edsServiceName === c.name) e.value.setAssignment(c.value);
          }
          for (const n of u.removed) {
            endpoints.delete(n);
            const empty: CompiledAssignment = { endpoints: [], localityWeights: [], overprovisioningFactor: 1.4 };
            for (const e of clusters.values()) if (e.value.config.type === "EDS" && e.value.config.edsServiceName === n) e.value.setAssignment(empty);
          }
          break;
        }
        case TypeUrl.Listener: {
          const items = u.resources.map((r) => ({ ...r, msg: decode(r, ListenerSchema) }));
          await applyListeners(items, sotwRemoved(listeners, u), false);
          ldsPending = false;
          break;
        }
        case TypeUrl.RouteConfiguration: {
          const compiled = u.resources.map((r) => {
            const rc: RouteConfiguration = decode(r, RouteConfigurationSchema);
            return { ...r, value: compileRouteConfig(rc, { filters, report, random }, r.name) };
          });
          for (const c of compiled) routes.set(c.name, { name: c.name, version: c.version, lastUpdated: new Date(), resource: c.resource, static: false, value: c.value });
          for (const n of u.removed) routes.delete(n);
          await activateWarmedListeners();
          break;
        }
        case TypeUrl.Secret:
          secrets.applyAds(u);
          break;
        default:
          report(`xds.${u.typeUrl}`, "resource type not implemented; ignored");
      }
      checkInitialized();
    },

    subscriptions() {
      const eds = new Set<string>();
      for (const c of clusters.values()) if (c.value.config.type === "EDS") eds.add(c.value.config.edsServiceName);
      return { eds: [...eds], rds: rdsNames(), sds: secrets.adsNames() };
    },
    initialized: () => initDone,
    onInitialized(l) {
      if (initDone) l();
      else initListeners.push(l);
    },
    dump() {
      const d = <T>(m: Map<string, Entry<T>>, warm?: (v: T) => boolean): DumpEntry[] =>
        [...m.values()].map((e) => ({
          name: e.name,
          version: e.version,
          lastUpdated: e.lastUpdated,
          resource: e.resource,
          state: e.static ? "static" : warm && !warm(e.value) ? "warming" : "active",
        }));
      return {
        listeners: [...d(listeners), ...d(warmingListeners).map((e) => ({ ...e, state: "warming" as const }))],
        clusters: d(clusters, (c) => c.warm),
        routes: d(routes),
        endpoints: d(endpoints),
        secrets: secrets.dump(),
      };
    },
    clusterStatus() {
      return [...clusters.values()].map((e) => {
        const c = e.value;
        const hosts: ClusterHostStatus[] = c
          .hosts()
          .map((h) => ({
            address: h.key,
            healthy: h.healthy,
            healthFlags: h.healthFlags,
            weight: h.weight,
            locality: h.locality,
            stats: { cx_active: h.cxActive, rq_active: h.activeRequests, rq_total: h.rqTotal, rq_success: h.rqSuccess, rq_error: h.rqError },
          }));
        return {
          name: e.name,
          hosts,
          circuitBreakers: circuitBreakerLines(c.config.thresholds),
        };
      });
    },
    listenerAddresses: () => listenerMgr.addresses(),
    boundPort: (name) => listenerMgr.boundPort(name),
    async drainListeners(o) {
      draining = true;
      await listenerMgr.drain(o?.inboundOnly ?? false);
    },
    activeConnections: () => listenerMgr.activeConnections(),
    async close() {
      clearTimeout(initTimer);
      await secrets.close();
      await listenerMgr.close();
      await Promise.all([...clusters.values()].map((c) => c.value.close()));
      clusters.clear();
    },
  };
  return runtime;
}
