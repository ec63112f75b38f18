// A live cluster: its endpoint set (static, DNS, EDS or original destination),
// the load balancer over it, per-host connection pools, circuit breakers,
// active health checking and outlier detection, and the Envoy-named stats,
// all looked up once here.
import { lookup } from "node:dns/promises";
import type { Logger } from "pino";
import type { Counter, Gauge, Histogram, StatsStore } from "../contracts.js";
import type { ClusterConfig } from "../runtime/compile-cluster.js";
import type { CompiledAssignment } from "../runtime/compile-endpoints.js";
import { createHost, HealthFlag, sameEndpoint, type Host } from "./host.js";
import { createHealthChecker, type HealthChecker } from "./health-checker.js";
import { createOutlierDetector, type OutlierDetector } from "./outlier-detector.js";
import { createResourceManager, type ResourceManager } from "./resource-manager.js";
import { createPendingGate, type PendingGate } from "./pending-gate.js";
import { createPrioritySet, type PriorityLevel, type PrioritySet } from "./priority-set.js";
import { createHttp1Pool } from "./http1-pool.js";
import { createLeanHttp1Pool } from "./lean-http1-pool.js";
import { createHttp2Pool, type ConnectionEvents } from "./http2-pool.js";
import type { ConnectionPool } from "./upstream-stream.js";
import type { ClusterTransport } from "../tls/cluster-transport.js";
import type { UpstreamTls } from "../tls/upstream-tls.js";

export interface ClusterStats {
  rqTotal: Counter;
  rq2xx: Counter;
  rq3xx: Counter;
  rq4xx: Counter;
  rq5xx: Counter;
  rqTimeout: Counter;
  rqPerTryTimeout: Counter;
  rqPerTryIdleTimeout: Counter;
  rqRetry: Counter;
  rqRetryOverflow: Counter;
  rqRetrySuccess: Counter;
  rqRetryLimitExceeded: Counter;
  rqRetryBackoffExponential: Counter;
  rqPendingOverflow: Counter;
  rqPendingTotal: Counter;
  rqPendingActive: Gauge;
  cxOverflow: Counter;
  retryOrShadowAbandoned: Counter;
  rqActive: Gauge;
  cxTotal: Counter;
  cxActive: Gauge;
  cxConnectFail: Counter;
  cxNone: Counter;
  membershipHealthy: Gauge;
  membershipTotal: Gauge;
  rqTime: Histogram;
  /** upstream_rq_<code>, created on first use of a code. */
  byCode(code: number): Counter;
}

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

export function createClusterStats(store: StatsStore, name: string): ClusterStats {
  const p = `cluster.${name}.`;
  const codes = new Map<number, Counter>();
  return {
    rqTotal: store.counter(p + "upstream_rq_total"),
    rq2xx: store.counter(p + "upstream_rq_2xx"),
    rq3xx: store.counter(p + "upstream_rq_3xx"),
    rq4xx: store.counter(p + "upstream_rq_4xx"),
    rq5xx: store.counter(p + "upstream_rq_5xx"),
    rqTimeout: store.counter(p + "upstream_rq_timeout"),
    rqPerTryTimeout: store.counter(p + "upstream_rq_per_try_timeout"),
    rqPerTryIdleTimeout: store.counter(p + "upstream_rq_per_try_idle_timeout"),
    rqRetry: store.counter(p + "upstream_rq_retry"),
    rqRetryOverflow: store.counter(p + "upstream_rq_retry_overflow"),
    rqRetrySuccess: store.counter(p + "upstream_rq_retry_success"),
    rqRetryLimitExceeded: store.counter(p + "upstream_rq_retry_limit_exceeded"),
    rqRetryBackoffExponential: store.counter(p + "upstream_rq_retry_backoff_exponential"),
    rqPendingOverflow: store.counter(p + "upstream_rq_pending_overflow"),
    rqPendingTotal: store.counter(p + "upstream_rq_pending_total"),
    rqPendingActive: store.gauge(p + "upstream_rq_pending_active"),
    cxOverflow: store.counter(p + "upstream_cx_overflow"),
    retryOrShadowAbandoned: store.counter(p + "retry_or_shadow_abandoned"),
    rqActive: store.gauge(p + "upstream_rq_active"),
    cxTotal: store.counter(p + "upstream_cx_total"),
    cxActive: store.gauge(p + "upstream_cx_active"),
    cxConnectFail: store.counter(p + "upstream_cx_connect_fail"),
    cxNone: store.counter(p + "upstream_cx_none_healthy"),
    membershipHealthy: store.gauge(p + "membership_healthy"),
    membershipTotal: store.gauge(p + "membership_total"),
    rqTime: store.histogram(p + "upstream_rq_time", "milliseconds"),
    byCode(code) {
      let c = codes.get(code);
      if (!c) codes.set(code, (c = store.counter(p + "upstream_rq_" + code)));
      return c;
    },
  };
}

export function createCluster(config: ClusterConfig, deps: ClusterDeps): Cluster {
  const random = deps.random ?? Math.random;
  const stats = createClusterStats(deps.stats, config.name);
  const log = deps.logger.child({ cluster: config.name });
  const pools = new Map<string, ConnectionPool>();
  // The request path's lookup, per Host object (no ALPN override): no key string built and hashed per
  // request. Every removal from `pools` bumps poolsGen, which invalidates all these entries.
  let poolsGen = 0;
  const hostPools = { http1: new WeakMap<Host, { pool: ConnectionPool; gen: number }>(), http2: new WeakMap<Host, { pool: ConnectionPool; gen: number }>() };
  // The same per host for an ALPN override, keyed by the override list itself: istio.alpn hands every
  // request of a route the same array, and every sidecar outbound request carries one.
  const alpnPools = { http1: new WeakMap<readonly string[], WeakMap<Host, { pool: ConnectionPool; gen: number }>>(), http2: new WeakMap<readonly string[], WeakMap<Host, { pool: ConnectionPool; gen: number }>>() };
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

  /** New membership: health checkers and outlier detection follow it, then the load balancer is rebuilt. */
  function build(hosts: Host[], a: CompiledAssignment | undefined): void {
    currentHosts = hosts;
    currentAssignment = a;
    checker?.setHosts(hosts);
    outlier?.setHosts(hosts);
    rebuild();
    // Drop pools of hosts that are gone.
    const keep = new Set(hosts.map((h) => h.key));
    for (const [k, p] of pools) {
      const hostKey = k.slice(k.indexOf("|") + 1);
      if (!keep.has(hostKey)) {
        pools.delete(k);
        poolsGen++;
        void p.close();
      }
    }
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
        const fresh = createHost({ ip, port: e.port, pipe: e.pipe, weight: e.weight, healthy: e.healthy, locality: e.locality, priority: e.priority, hostname: resolved ? e.address : undefined, transportSocketMatch: e.transportSocketMatch });
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
    pool(host, protocol, alpn) {
      const cache = alpn === undefined ? hostPools[protocol] : alpnPools[protocol].get(alpn);
      const e = cache?.get(host);
      if (e !== undefined && e.gen === poolsGen) return e.pool;
      const base = deps.transport?.forHost(host.transportSocketMatch);
      const tls = base && alpn ? { ...base, alpn } : base;
      // Connections differ by offered ALPN (Envoy keys pools by it too); the host key stays after the first "|".
      const k = protocol + (base && alpn ? "+" + alpn.join(",") : "") + "|" + host.key;
      let p = pools.get(k);
      if (!p) {
        const o = {
          ip: host.ip,
          port: host.port,
          pipe: host.pipe,
          connectTimeoutMs: config.connectTimeoutMs,
          localAddress: config.sourceAddress,
          maxRequestsPerConnection: config.maxRequestsPerConnection,
          idleTimeoutMs: config.idleTimeoutMs,
          events,
          tls,
        };
        // HTTP/1.1, plaintext or TLS (the mesh's mTLS hop), takes the lean pool; undici's stays as an opt-out.
        if (protocol === "http2") p = createHttp2Pool(o);
        else if (process.env.WEFT_PROXY_UNDICI_HTTP1 === "1") p = createHttp1Pool({ ...o, maxConnections: config.maxConnections });
        else p = createLeanHttp1Pool({ ...o, maxConnections: config.maxConnections });
        pools.set(k, p);
      }
      if (alpn === undefined) hostPools[protocol].set(host, { pool: p, gen: poolsGen });
      else {
        let byHost = alpnPools[protocol].get(alpn);
        if (!byHost) alpnPools[protocol].set(alpn, (byHost = new WeakMap()));
        byHost.set(host, { pool: p, gen: poolsGen });
      }
      return p;
    },
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
      const ps = [...pools.values()];
      pools.clear();
      poolsGen++;
      await Promise.all(ps.map((p) => p.close()));
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
          for (const proto of ["http1|", "http2|"]) {
            const p = pools.get(proto + e.host.key);
            if (p) {
              pools.delete(proto + e.host.key);
              poolsGen++;
              void p.close();
            }
          }
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
