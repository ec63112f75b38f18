// envoy.filters.network.tcp_proxy: compile (cluster / weighted_clusters,
// idle_timeout, access logs) and the per-connection splice with Envoy's stats
// and flags (UH, UF, UO, DC…).
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import * as net from "node:net";
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import { TcpProxySchema } from "@weft/xds-api/gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";
import { ResourceRejectedError, type AccessLogger, type AccessLoggerFactory, type Counter, type Gauge, type StatsStore, type StreamInfo } from "../contracts.js";
import type { ConnInfo } from "../listener/conn-info.js";
import { durationMs } from "../runtime/duration.js";
import type { Cluster } from "../upstream/cluster.js";
import { hash32 } from "../upstream/hash.js";
import { transportReasonOf } from "../upstream/upstream-stream.js";
import { connectUpstreamTls, upstreamTlsIdentity } from "../tls/upstream-tls.js";
import { DEFAULT_CONNECTION_BUFFER_LIMIT } from "../runtime/buffer-limit.js";
import { applyTcpKeepalive } from "../upstream/tcp-keepalive.js";
import type { TcpConnectionView, TcpConnectionWatch, TcpObserver } from "./tcp-observer.js";
import type { PeerExchangeReader } from "./peer-exchange-reader.js";
import { startPeerExchange, type PeerExchangeSide, type PeerExchangeSpec } from "./peer-exchange.js";

export const TCP_PROXY_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";

export interface TcpProxyConfig {
  statPrefix: string;
  cluster?: string;
  weighted?: Array<{ name: string; weight: number }>;
  totalWeight: number;
  idleTimeoutMs: number;
  maxConnectAttempts: number;
  hashSourceIp: boolean;
  accessLoggers: AccessLogger[];
}

export function compileTcpProxy(
  any: Any,
  res: string,
  field: string,
  deps: { accessLogs: AccessLoggerFactory; report(field: string, detail?: string): void },
): TcpProxyConfig {
  const tp = anyUnpack(any, TcpProxySchema);
  if (!tp) throw new ResourceRejectedError(res, field, `expected ${TCP_PROXY_TYPE_URL}, got ${any.typeUrl}`);
  if (!tp.statPrefix) throw new ResourceRejectedError(res, `${field}.stat_prefix`, "must not be empty");
  const cfg: TcpProxyConfig = {
    statPrefix: tp.statPrefix,
    totalWeight: 0,
    // Envoy's default idle_timeout is 1 hour; 0 disables it.
    idleTimeoutMs: durationMs(tp.idleTimeout, 3_600_000),
    maxConnectAttempts: tp.maxConnectAttempts ?? 1,
    hashSourceIp: tp.hashPolicy.some((h) => h.policySpecifier.case === "sourceIp"),
    accessLoggers: tp.accessLog.map((a, i) => {
      try {
        return deps.accessLogs(a);
      } catch (err) {
        throw new ResourceRejectedError(res, `${field}.access_log[${i}]`, (err as Error).message);
      }
    }),
  };
  const cs = tp.clusterSpecifier;
  if (cs.case === "cluster") {
    if (!cs.value) throw new ResourceRejectedError(res, `${field}.cluster`, "must not be empty");
    cfg.cluster = cs.value;
  } else if (cs.case === "weightedClusters") {
    cfg.weighted = cs.value.clusters.map((c) => ({ name: c.name, weight: c.weight }));
    cfg.totalWeight = cfg.weighted.reduce((s, c) => s + c.weight, 0);
    if (cfg.totalWeight <= 0) throw new ResourceRejectedError(res, `${field}.weighted_clusters`, "needs a positive total weight");
  } else throw new ResourceRejectedError(res, `${field}.cluster_specifier`, "cluster or weighted_clusters is required");
  if (tp.tunnelingConfig) deps.report("tcp_proxy.tunneling_config", "not implemented");
  if (tp.metadataMatch) deps.report("tcp_proxy.metadata_match", "not implemented");
  return cfg;
}

/**
 * Copies `from` into `to`, and stops reading `from` once `to`'s write buffer holds more than
 * `limit` bytes (Envoy's high watermark on the writing connection); reading resumes when what
 * was buffered has been flushed to the kernel. Node's own 16 KiB writable mark is not used:
 * the configured limit is what bounds memory, as in Envoy.
 */
export function splice(from: net.Socket, to: net.Socket, limit: number, onBytes: (n: number) => void, exchange?: PeerExchangeReader): void {
  let paused = false;
  // A peer's metadata exchange comes off the front of the stream; once it is decided, chunks go through untouched.
  let pre = exchange;
  if (pre) {
    from.once("end", () => {
      const rest = pre?.end();
      pre = undefined;
      if (rest?.length) {
        onBytes(rest.length);
        to.write(rest);
      }
    });
  }
  const resume = (): void => {
    paused = false;
    if (!from.destroyed) from.resume();
  };
  from.on("data", (d: Buffer) => {
    if (pre !== undefined) {
      const out = pre.feed(d);
      if (pre.done) pre = undefined;
      if (out === undefined || out.length === 0) return;
      d = out;
    }
    onBytes(d.length);
    if (paused || to.writableLength + d.length <= limit) {
      to.write(d);
      return;
    }
    // Over the high watermark: this chunk is the last one until the buffer has drained.
    paused = true;
    from.pause();
    to.write(d, resume);
  });
}

export interface TcpProxyRuntime {
  config: TcpProxyConfig;
  cluster(name: string): Cluster | undefined;
  logger: Logger;
  random: () => number;
  /** The chain's network filters that follow each connection (istio.stats); none when absent. */
  observers?: readonly TcpObserver[];
  /**
   * istio.metadata_exchange: this proxy's exchange bytes, and the chain's filter (exchange with the
   * downstream) when it has one. Clusters with the filter exchange with the upstream.
   */
  peerExchange?: { header: Buffer; downstream?: PeerExchangeSpec };
}

const NO_WATCHES: readonly TcpConnectionWatch[] = [];

interface TcpStats {
  cxTotal: Counter;
  cxNoRoute: Counter;
  cxActive: Gauge;
  rxBytes: Counter;
  txBytes: Counter;
  idleTimeout: Counter;
  connectFail: Counter;
}

export function createTcpProxyHandler(rt: TcpProxyRuntime, store: StatsStore): (socket: net.Socket, conn: ConnInfo) => void {
  const p = `tcp.${rt.config.statPrefix}.`;
  const stats: TcpStats = {
    cxTotal: store.counter(p + "downstream_cx_total"),
    cxNoRoute: store.counter(p + "downstream_cx_no_route"),
    cxActive: store.gauge(p + "downstream_cx_active"),
    rxBytes: store.counter(p + "downstream_cx_rx_bytes_total"),
    txBytes: store.counter(p + "downstream_cx_tx_bytes_total"),
    idleTimeout: store.counter(p + "idle_timeout"),
    connectFail: store.counter(p + "upstream_flush_total"),
  };
  const cfg = rt.config;
  const observers = rt.observers ?? [];
  return (socket, conn) => {
    stats.cxTotal.inc();
    stats.cxActive.inc();
    const info: StreamInfo = {
      startTime: Date.now(),
      responseFlags: [],
      bytesReceived: 0,
      bytesSent: 0,
      downstreamLocalAddress: conn.localAddress,
      downstreamRemoteAddress: conn.remoteAddress,
      downstreamDirectRemoteAddress: conn.remoteAddress,
      requestedServerName: conn.sni,
      downstreamTls: conn.tls,
    };
    const view: TcpConnectionView = { conn, info, host: undefined, upstreamTls: undefined };
    const watches = observers.length === 0 ? NO_WATCHES : observers.map((o) => o.watch(view));
    const exchanged = (): void => {
      for (const w of watches) w.peerExchanged();
    };
    const mx = rt.peerExchange;
    let downstreamMx: PeerExchangeSide | undefined;
    let upstreamMx: PeerExchangeSide | undefined;
    if (mx?.downstream) {
      // Our header goes out now, ahead of anything tcp_proxy writes; the peer's is read once the upstream is up.
      downstreamMx = startPeerExchange(mx.downstream, conn.tls?.alpn, mx.header, (b) => {
        info.bytesSent += b.length;
        socket.write(b);
      }, (consumed) => {
        // Envoy's downstream bytes meter counts the exchange bytes too.
        info.bytesReceived += consumed;
        exchanged();
      });
      view.downstreamPeer = downstreamMx.state;
    }
    let logged = false;
    const finish = (): void => {
      if (logged) return;
      logged = true;
      downstreamMx?.stop();
      upstreamMx?.stop();
      stats.cxActive.dec();
      info.durationMs = Date.now() - info.startTime;
      stats.rxBytes.inc(info.bytesReceived);
      stats.txBytes.inc(info.bytesSent);
      for (const w of watches) w.closed();
      for (const l of cfg.accessLoggers) l.log(info);
    };
    let name = cfg.cluster;
    if (!name && cfg.weighted) {
      let r = Math.floor(rt.random() * cfg.totalWeight);
      for (const w of cfg.weighted) {
        if (r < w.weight) {
          name = w.name;
          break;
        }
        r -= w.weight;
      }
    }
    info.upstreamCluster = name;
    const cluster = name ? rt.cluster(name) : undefined;
    if (!cluster || !cluster.warm) {
      stats.cxNoRoute.inc();
      info.responseFlags.push("NC");
      socket.destroy();
      return finish();
    }
    // max_connections is the cluster-wide connections circuit breaker (HTTP pools count in it too).
    const cxLimit = cluster.resources("default").connections;
    if (!cxLimit.canCreate()) {
      cluster.stats.cxOverflow.inc();
      info.responseFlags.push("UO");
      socket.destroy();
      return finish();
    }
    socket.pause();
    let attempts = 0;
    const tryConnect = (): void => {
      attempts++;
      const host = cluster.pickHost(cfg.hashSourceIp ? hash32(conn.remoteIp) : undefined, conn.originalDst);
      if (!host) {
        info.responseFlags.push("UH");
        cluster.stats.cxNone.inc();
        socket.destroy();
        return finish();
      }
      info.upstreamHost = host.key;
      view.host = host;
      const tls = cluster.transportFor(host);
      // With an UpstreamTlsContext the splice starts after the handshake and the server's checks ('secureConnect').
      const up = tls
        ? connectUpstreamTls({ host: host.ip, port: host.port, pipe: host.pipe, localAddress: cluster.config.sourceAddress }, tls, "tcp")
        : host.pipe
          ? net.connect(host.pipe)
          : net.connect({ host: host.ip, port: host.port, localAddress: cluster.config.sourceAddress });
      applyTcpKeepalive(up, cluster.config.tcpKeepalive);
      let connected = false;
      const timer = setTimeout(() => up.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" })), cluster.config.connectTimeoutMs);
      up.once(tls ? "secureConnect" : "connect", () => {
        // The TLS socket refused the server after the handshake (it is being destroyed with the reason).
        if (up.destroyed) return;
        connected = true;
        clearTimeout(timer);
        cluster.reportLocal(host, "success");
        cxLimit.inc();
        cluster.activeRequests++;
        host.cxActive++;
        cluster.stats.cxTotal.inc();
        cluster.stats.cxActive.inc();
        info.upstreamLocalAddress = `${up.localAddress}:${up.localPort}`;
        if (tls) view.upstreamTls = upstreamTlsIdentity(up);
        const upSpec = cluster.config.peerExchange;
        if (upSpec && mx) {
          upstreamMx = startPeerExchange(upSpec, tls ? (up as TLSSocket).alpnProtocol || undefined : undefined, mx.header, (b) => up.write(b), exchanged);
          view.upstreamPeer = upstreamMx.state;
        }
        for (const w of watches) w.upstreamConnected();
        if (cfg.idleTimeoutMs > 0) {
          const onIdle = (): void => {
            stats.idleTimeout.inc();
            info.connectionTerminationDetails = "idle_timeout";
            up.destroy();
            socket.destroy();
          };
          socket.setTimeout(cfg.idleTimeoutMs, onIdle);
          up.setTimeout(cfg.idleTimeoutMs, onIdle);
        }
        // per_connection_buffer_limit_bytes: the upstream connection's (cluster) limit pauses the
        // downstream reader, the downstream connection's (listener) limit pauses the upstream one.
        splice(socket, up, cluster.config.perConnectionBufferLimitBytes ?? DEFAULT_CONNECTION_BUFFER_LIMIT, (n) => (info.bytesReceived += n), downstreamMx?.reader);
        splice(up, socket, conn.bufferLimitBytes ?? DEFAULT_CONNECTION_BUFFER_LIMIT, (n) => (info.bytesSent += n), upstreamMx?.reader);
        downstreamMx?.startReading();
        upstreamMx?.startReading();
        socket.on("end", () => up.end());
        up.on("end", () => socket.end());
        socket.resume();
      });
      up.on("error", (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (connected) return;
        cluster.stats.cxConnectFail.inc();
        // Outlier detection sees tcp_proxy connect failures (Envoy: LocalOriginConnectFailed).
        cluster.reportLocal(host, "connect_failed");
        info.upstreamTransportFailureReason = transportReasonOf(err);
        if (attempts < cfg.maxConnectAttempts && !socket.destroyed) return tryConnect();
        info.responseFlags.push("UF");
        socket.destroy();
        finish();
      });
      up.on("close", () => {
        if (!connected) return;
        cxLimit.dec();
        cluster.activeRequests--;
        host.cxActive--;
        cluster.stats.cxActive.dec();
        socket.end();
        finish();
      });
      socket.once("close", () => {
        if (connected) up.end();
        else if (!up.destroyed) {
          up.destroy();
          info.responseFlags.push("DC");
          finish();
        }
      });
    };
    socket.on("error", () => {});
    tryConnect();
  };
}
