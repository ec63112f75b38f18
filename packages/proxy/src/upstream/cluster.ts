// A live cluster: its endpoint set (static, DNS, EDS or original destination),
// the load balancer over it, per-host connection pools, circuit breakers,
// active health checking and outlier detection, and the Envoy-named stats,
// all looked up once here.
import { lookup } from "node:dns/promises";
import type { Logger } from "pino";
import type { StatsStore } from "../contracts.js";
import type { ClusterConfig } from "../runtime/compile-cluster.js";
import type { CompiledAssignment } from "../runtime/compile-endpoints.js";
import { createHost, HealthFlag, sameEndpoint, type Host } from "./host.js";
import { createHealthChecker, type HealthChecker } from "./health-checker.js";
import { createOutlierDetector, type OutlierDetector } from "./outlier-detector.js";
import { createResourceManager, type ResourceManager } from "./resource-manager.js";
import { createPendingGate, type PendingGate } from "./pending-gate.js";
import { createPrioritySet, type PriorityLevel, type PrioritySet } from "./priority-set.js";
import type { ConnectionEvents } from "./http2-pool.js";
import { createClusterPools } from "./cluster-pools.js";
import { createClusterStats, type ClusterStats } from "./cluster-stats.js";
import type { ConnectionPool } from "./upstream-stream.js";
import type { ClusterTransport } from "../tls/cluster-transport.js";
import type { UpstreamTls } from "../tls/upstream-tls.js";

export interface Cluster {
  readonly config: ClusterConfig;
  readonly stats: ClusterStats;
  /** False for EDS clusters until the first ClusterLoadAssignment (or initial_fetch_timeout). */
  readonly warm: boolean;
  /** Resolves when warm. */
  readonly ready: Promise<void>;
  prioritySet(): PrioritySet;
  /** Every current host, including those load balancing leaves out (for /clusters). */
  hosts(): readonly Host[];
  /**
   * Picks a host; for ORIGINAL_DST `originalDst` (`ip:port`) is the host.
   * `reject` is a retry host predicate (previous_hosts): selection is tried
   * up to `attempts` times, then the last pick is used (Envoy's
   * host_selection_retry_max_attempts).
   */
  pickHost(hash: number | undefined, originalDst: string | undefined, reject?: (h: Host) => boolean, attempts?: number): Host | undefined;
  /** `alpn`: the istio.alpn filter's override for this upstream protocol (TLS endpoints only). */
  pool(host: Host, protocol: "http1" | "http2", alpn?: readonly string[]): ConnectionPool;
  /** The TLS to use towards a host (transport_socket / transport_socket_matches); undefined = plaintext. For tcp_proxy. */
  transportFor(host: Host): UpstreamTls | undefined;
  /** Circuit breakers of a routing priority. */
  resources(priority: "default" | "high"): ResourceManager;
  /** HTTP/1.1 admission under max_connections / max_pending_requests (one request per connection). */
  http1Gate(priority: "default" | "high"): PendingGate;
  /** Passive health: what one attempt on `host` ended with (outlier detection). */
  reportHttp(host: Host, status: number): void;
  reportLocal(host: Host, event: "connect_failed" | "timeout" | "reset" | "success"): void;
  setAssignment(a: CompiledAssignment): void;
  /** Stops active health checking and outlier detection (cluster replaced or removed; pools close later). */
  retire(): void;
  /** Active TCP proxy connections (tcp_proxy circuit breaking). */
  activeRequests: number;
  activeRetries: number;
  close(): Promise<void>;
}

export interface ClusterDeps {
  stats: StatsStore;
  logger: Logger;
  /** The cluster's TLS transport sockets bound to the secret store (config.transport). */
  transport?: ClusterTransport;
  random?: () => number;
}

export function createCluster(config: ClusterConfig, deps: ClusterDeps): Cluster {
  const random = deps.random ?? Math.random;
  const stats = createClusterStats(deps.stats, config.name);
  const log = deps.logger.child({ cluster: config.name });
  let set: PrioritySet = createPrioritySet([], { ...config, policy: config.lbPolicy, overprovisioningFactor: 1.4, random });
  let warm = config.type !== "EDS";
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  let dnsTimer: NodeJS.Timeout | undefined;
  let closed = false;
  let origDstHosts = new Map<string, { host: Host; lastUsed: number }>();
  let origDstSweep: NodeJS.Timeout | undefined;
  let currentHosts: Host[] = [];
  let currentAssignment: CompiledAssignment | undefined;
  const rms = {
    default: createResourceManager(deps.stats, config.name, "default", config.thresholds.default),
    high: createResourceManager(deps.stats, config.name, "high", config.thresholds.high),
  };
  const gates = {
    default: createPendingGate(rms.default, stats),
    high: createPendingGate(rms.high, stats),
  };
  const outlier: OutlierDetector | undefined = config.outlier
    ? createOutlierDetector(config.outlier, { stats: deps.stats, clusterName: config.name, random, onChange: () => rebuild() })
    : undefined;
  const checker: HealthChecker | undefined = config.healthChecks.length
    ? createHealthChecker(config.healthChecks, {
        stats: deps.stats,
        clusterName: config.name,
        random,
        markPending: config.ignoreNewHostsUntilFirstHc,
        hadTraffic: () => stats.cxTotal.value() > 0,
        onChange: () => rebuild(),
        onSuccess: (h) => outlier?.onActiveHealthCheckSuccess(h),
      })
    : undefined;

  const events: ConnectionEvents = {
    connected() {
      stats.cxTotal.inc();
      stats.cxActive.inc();
      rms.default.connections.inc();
    },
    connectFailed() {
      stats.cxConnectFail.inc();
    },
    closed() {
      stats.cxActive.dec();
      rms.default.connections.dec();
    },
  };
  const pools = createClusterPools(config, events, deps.transport);

  /** New membership: health checkers and outlier detection follow it, then the load balancer is rebuilt. */
  function build(hosts: Host[], a: CompiledAssignment | undefined): void {
    currentHosts = hosts;
    currentAssignment = a;
    checker?.setHosts(hosts);
    outlier?.setHosts(hosts);
    rebuild();
    pools.retain(new Set(hosts.map((h) => h.key)));
  }

  /** Same hosts, new health: regroup into priority levels and rebuild the load balancers. */
  function rebuild(): void {
    if (closed) return;
    const a = currentAssignment;
    const levels: PriorityLevel[] = [];
    let total = 0;
    let healthy = 0;
    for (const h of currentHosts) {
      total++;
      if (h.healthy) healthy++;
      // ignore_new_hosts_until_first_hc: a host not yet checked counts nowhere, not even in the health ratio.
      if (config.ignoreNewHostsUntilFirstHc && h.flags & HealthFlag.PENDING_ACTIVE_HC) continue;
      while (levels.length <= h.priority) levels.push({ hosts: [], healthy: [], localityWeights: a?.localityWeights[levels.length] ?? new Map() });
      levels[h.priority].hosts.push(h);
      if (h.healthy) levels[h.priority].healthy.push(h);
    }
    set = createPrioritySet(levels, {
      ...config,
      policy: config.lbPolicy,
      overprovisioningFactor: a?.overprovisioningFactor ?? 1.4,
      random,
    });
    stats.membershipTotal.set(total);
    stats.membershipHealthy.set(healthy);
  }

  function hostsFromAssignment(a: CompiledAssignment, resolved?: Map<string, string[]>): Host[] {
    // A host that is still there keeps its object, so health-check and outlier state survive EDS/DNS updates (as in Envoy).
    const previous = new Map(currentHosts.map((h) => [h.key, h]));
    const out: Host[] = [];
    for (const e of a.endpoints) {
      const ips = resolved ? resolved.get(e.address) ?? [] : [e.address];
      for (const ip of ips) {
        const fresh = createHost({ ip, port: e.port, pipe: e.pipe, weight: e.weight, healthy: e.healthy, locality: e.locality, priority: e.priority, hostname: resolved ? e.address : undefined, transportSocketMatch: e.transportSocketMatch, istioWorkload: e.istioWorkload });
        const old = previous.get(fresh.key);
        if (old && sameEndpoint(old, fresh)) {
          old.flags = (old.flags & ~HealthFlag.FAILED_EDS_HEALTH) | (e.healthy ? 0 : HealthFlag.FAILED_EDS_HEALTH);
          out.push(old);
        } else out.push(fresh);
      }
    }
    return out;
  }

  async function resolveDns(): Promise<void> {
    const a = config.assignment!;
    const resolved = new Map<string, string[]>();
    await Promise.all(
      a.endpoints.map(async (e) => {
        if (e.pipe) return;
        try {
          const r = await lookup(e.address, { all: true, family: config.dnsFamily });
          // LOGICAL_DNS uses only the first address returned (Envoy connects to one at a time).
          resolved.set(e.address, config.type === "LOGICAL_DNS" ? r.slice(0, 1).map((x) => x.address) : r.map((x) => x.address));
        } catch (err) {
          log.warn({ host: e.address, err: (err as Error).message }, "DNS resolution failed");
          const prev = set.levels.flatMap((l) => l.hosts).filter((h) => h.hostname === e.address);
          resolved.set(e.address, prev.map((h) => h.ip));
        }
      }),
    );
    if (closed) return;
    build(hostsFromAssignment(a, resolved), a);
  }

  const cluster: Cluster = {
    config,
    stats,
    get warm() {
      // Envoy's cluster init also waits for the transport socket's SDS secrets.
      return warm && (deps.transport?.ready() ?? true);
    },
    ready,
    activeRequests: 0,
    activeRetries: 0,
    prioritySet: () => set,
    hosts: () => (config.type === "ORIGINAL_DST" ? [...origDstHosts.values()].map((e) => e.host) : currentHosts),
    pickHost(hash, originalDst, reject, attempts = 1) {
      if (config.type === "ORIGINAL_DST") {
        if (!originalDst) return undefined;
        let e = origDstHosts.get(originalDst);
        if (!e) {
          const i = originalDst.lastIndexOf(":");
          let ip = originalDst.slice(0, i);
          if (ip.startsWith("[")) ip = ip.slice(1, -1);
          e = { host: createHost({ ip, port: Number(originalDst.slice(i + 1)) }), lastUsed: 0 };
          origDstHosts.set(originalDst, e);
          stats.membershipTotal.set(origDstHosts.size);
          stats.membershipHealthy.set(origDstHosts.size);
        }
        e.lastUsed = Date.now();
        return e.host;
      }
      let h = set.pick(hash);
      for (let i = 0; h && reject && i < attempts && reject(h); i++) h = set.pick(hash === undefined ? undefined : (hash + i + 1) >>> 0);
      if (!h) stats.cxNone.inc();
      return h;
    },
    resources: (priority) => rms[priority],
    http1Gate: (priority) => gates[priority],
    reportHttp(host, status) {
      outlier?.reportHttp(host, status);
    },
    reportLocal(host, event) {
      outlier?.reportLocal(host, event);
    },
    transportFor: (host) => deps.transport?.forHost(host.transportSocketMatch),
    pool: (host, protocol, alpn) => pools.get(host, protocol, alpn),
    setAssignment(a) {
      build(hostsFromAssignment(a), a);
      if (!warm) {
        warm = true;
        markReady();
      }
    },
    retire() {
      checker?.stop();
      outlier?.close();
    },
    async close() {
      closed = true;
      deps.transport?.release();
      checker?.stop();
      outlier?.close();
      if (dnsTimer) clearInterval(dnsTimer);
      if (origDstSweep) clearInterval(origDstSweep);
      origDstHosts = new Map();
      await pools.closeAll();
    },
  };

  if (config.type === "STATIC") {
    build(hostsFromAssignment(config.assignment!), config.assignment);
    markReady();
  } else if (config.type === "STRICT_DNS" || config.type === "LOGICAL_DNS") {
    // Envoy warms DNS clusters on the first resolution; we serve immediately and resolve in the background.
    void resolveDns().finally(markReady);
    dnsTimer = setInterval(() => void resolveDns(), Math.max(config.dnsRefreshMs, 100));
    dnsTimer.unref();
  } else if (config.type === "ORIGINAL_DST") {
    markReady();
    // cleanup_interval (default 5 s): forget hosts not used since the last sweep.
    origDstSweep = setInterval(() => {
      const cutoff = Date.now() - 5000;
      for (const [k, e] of origDstHosts) {
        if (e.lastUsed < cutoff && e.host.activeRequests === 0) {
          origDstHosts.delete(k);
          pools.drop(e.host.key);
        }
      }
    }, 5000);
    origDstSweep.unref();
  } else {
    const t = setTimeout(() => {
      if (!warm) {
        log.warn({ timeoutMs: config.initialFetchTimeoutMs }, "EDS initial fetch timed out; cluster serves with no endpoints");
        warm = true;
        markReady();
      }
    }, config.initialFetchTimeoutMs || 15_000);
    t.unref();
  }
  return cluster;
}
