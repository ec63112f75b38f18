// The connection pools of one cluster — one per host, protocol and offered ALPN list — and the request
// path's lookup into them.
import type { ClusterConfig } from "../runtime/compile-cluster.js";
import type { ClusterTransport } from "../tls/cluster-transport.js";
import type { Host } from "./host.js";
import { createHttp1Pool } from "./http1-pool.js";
import { createHttp2Pool, type ConnectionEvents } from "./http2-pool.js";
import { createLeanHttp1Pool } from "./lean-http1-pool.js";
import type { ConnectionPool } from "./upstream-stream.js";

export type PoolProtocol = "http1" | "http2";

export interface ClusterPools {
  /** `alpn`: the istio.alpn filter's override for this upstream protocol (TLS endpoints only). */
  get(host: Host, protocol: PoolProtocol, alpn?: readonly string[]): ConnectionPool;
  /** Closes the pools of every host whose key is not in `keep`. */
  retain(keep: ReadonlySet<string>): void;
  /** Closes every pool of one host (all protocols and ALPN lists). */
  drop(hostKey: string): void;
  closeAll(): Promise<void>;
}

interface Cached {
  pool: ConnectionPool;
  gen: number;
}

export function createClusterPools(config: ClusterConfig, events: ConnectionEvents, transport: ClusterTransport | undefined): ClusterPools {
  const pools = new Map<string, { hostKey: string; pool: ConnectionPool }>();
  // The request path's lookup, per Host object (no ALPN override): no key string built and hashed per
  // request. Every removal from `pools` bumps gen, which invalidates all these entries.
  let gen = 0;
  const byHost = { http1: new WeakMap<Host, Cached>(), http2: new WeakMap<Host, Cached>() };
  // The same per host for an ALPN override, keyed by the override list itself: istio.alpn hands every
  // request of a route the same array, and every sidecar outbound request carries one.
  const byAlpn = { http1: new WeakMap<readonly string[], WeakMap<Host, Cached>>(), http2: new WeakMap<readonly string[], WeakMap<Host, Cached>>() };

  const create = (host: Host, protocol: PoolProtocol, alpn: readonly string[] | undefined): ConnectionPool => {
    const base = transport?.forHost(host.transportSocketMatch);
    const o = {
      ip: host.ip,
      port: host.port,
      pipe: host.pipe,
      connectTimeoutMs: config.connectTimeoutMs,
      localAddress: config.sourceAddress,
      maxRequestsPerConnection: config.maxRequestsPerConnection,
      idleTimeoutMs: config.idleTimeoutMs,
      events,
      tls: base && alpn ? { ...base, alpn } : base,
      keepalive: config.tcpKeepalive,
    };
    // HTTP/1.1, plaintext or TLS (the mesh's mTLS hop), takes the lean pool; undici's stays as an opt-out.
    if (protocol === "http2") return createHttp2Pool(o);
    if (process.env.WEFT_PROXY_UNDICI_HTTP1 === "1") return createHttp1Pool({ ...o, maxConnections: config.maxConnections });
    return createLeanHttp1Pool({ ...o, maxConnections: config.maxConnections });
  };

  const remove = (pred: (hostKey: string) => boolean): void => {
    for (const [k, e] of pools) {
      if (!pred(e.hostKey)) continue;
      pools.delete(k);
      gen++;
      void e.pool.close();
    }
  };

  return {
    get(host, protocol, alpn) {
      const cache = alpn === undefined ? byHost[protocol] : byAlpn[protocol].get(alpn);
      const hit = cache?.get(host);
      if (hit !== undefined && hit.gen === gen) return hit.pool;
      // Connections differ by offered ALPN (Envoy keys pools by it too); plaintext ignores the override.
      const tlsAlpn = alpn && transport?.forHost(host.transportSocketMatch) ? alpn : undefined;
      const k = protocol + (tlsAlpn ? "+" + tlsAlpn.join(",") : "") + "|" + host.key;
      let e = pools.get(k);
      if (!e) pools.set(k, (e = { hostKey: host.key, pool: create(host, protocol, tlsAlpn) }));
      if (alpn === undefined) byHost[protocol].set(host, { pool: e.pool, gen });
      else {
        let hosts = byAlpn[protocol].get(alpn);
        if (!hosts) byAlpn[protocol].set(alpn, (hosts = new WeakMap()));
        hosts.set(host, { pool: e.pool, gen });
      }
      return e.pool;
    },
    retain: (keep) => remove((hostKey) => !keep.has(hostKey)),
    drop: (hostKey) => remove((k) => k === hostKey),
    async closeAll() {
      const all = [...pools.values()].map((e) => e.pool);
      pools.clear();
      gen++;
      await Promise.all(all.map((p) => p.close()));
    },
  };
}
