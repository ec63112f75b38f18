// Bound listeners and the accept path: original destination, use_original_dst
// hand-off, listener filters (tls_inspector, http_inspector), filter-chain
// selection, then the chain's network filter.
import * as net from "node:net";
import type { Logger } from "pino";
import type { Counter, Gauge, StatsStore, StreamInfo } from "../contracts.js";
import type { ListenerConfig, ChainConfig } from "../runtime/compile-listener.js";
import { getOriginalDst, originalDstUnavailableReason } from "../native/original-dst.js";
import type { ConnInfo } from "./conn-info.js";
import type { ConnectionLimits } from "./connection-limits.js";
import { factsOf, selectFilterChain } from "./filter-chain-match.js";
import { inspectHttp, parseClientHello } from "./inspectors.js";
import { peek } from "./peek.js";
import { listenReusePort } from "./reuse-port.js";
import type { DownstreamTlsTerminator } from "../tls/downstream-tls.js";
import type { LiveTlsContext } from "../tls/live-tls-context.js";

export type ChainHandler = (socket: net.Socket, conn: ConnInfo, firstBytes: Buffer | undefined) => void;

export interface ActiveChain {
  config: ChainConfig;
  /** The chain's TLS transport socket (DownstreamTlsContext), when it has one. */
  tls?: { live: LiveTlsContext; terminator: DownstreamTlsTerminator };
  handle: ChainHandler;
  drain(): void;
  close(): void;
}

interface ListenerStats {
  cxTotal: Counter;
  cxActive: Gauge;
  noChain: Counter;
  filterTimeout: Counter;
  /** Refused at accept: the listener's runtime connection_limit. */
  cxOverflow: Counter;
  /** Refused at accept: the global downstream connections cap. */
  globalCxOverflow: Counter;
}

interface ActiveListener {
  config: ListenerConfig;
  chains: ActiveChain[];
  byName: Map<string, ActiveChain>;
  defaultChain?: ActiveChain;
  server?: net.Server;
  stats: ListenerStats;
  sockets: Set<net.Socket>;
  /** Connections accepted on this listener's socket and still open (kept across updates of the listener). */
  accepted: { n: number };
}

export interface ListenerManager {
  /** Adds or replaces a listener; binds when bind_to_port. Rejects on bind failure. */
  upsert(config: ListenerConfig, chains: ActiveChain[], defaultChain: ActiveChain | undefined): Promise<void>;
  remove(name: string): Promise<void>;
  addresses(): Array<{ name: string; address: string }>;
  /** Actual bound port (useful with port 0 in tests). */
  boundPort(name: string): number | undefined;
  activeConnections(): number;
  drain(inboundOnly: boolean): Promise<void>;
  close(): Promise<void>;
}

export interface ListenerManagerDeps {
  stats: StatsStore;
  logger: Logger;
  /** Connection caps from the bootstrap (connection-limits.ts); none when absent (unit tests). */
  connectionLimits?: ConnectionLimits;
  /**
   * This runtime is worker thread `index` of a --concurrency N proxy: every
   * worker binds each TCP listener itself with SO_REUSEPORT (reuse-port.ts).
   * A Unix socket can be bound once, so only worker 0 serves pipe listeners.
   */
  workerThread?: { index: number };
}

export function createListenerManager(deps: ListenerManagerDeps): ListenerManager {
  const listeners = new Map<string, ActiveListener>();
  const globalMax = deps.connectionLimits?.globalMax ?? Number.POSITIVE_INFINITY;
  const perListener = deps.connectionLimits?.perListener;
  let globalActive = 0;
  let warnedOrigDst = false;
  const log = deps.logger;

  function statsFor(c: ListenerConfig): ListenerStats {
    const p = `listener.${c.statName}.`;
    return {
      cxTotal: deps.stats.counter(p + "downstream_cx_total"),
      cxActive: deps.stats.gauge(p + "downstream_cx_active"),
      noChain: deps.stats.counter(p + "no_filter_chain_match"),
      filterTimeout: deps.stats.counter(p + "downstream_pre_cx_timeout"),
      cxOverflow: deps.stats.counter(p + "downstream_cx_overflow"),
      globalCxOverflow: deps.stats.counter(p + "downstream_global_cx_overflow"),
    };
  }

  /** Envoy's hand-off target: exact ip:port, then the wildcard listener on the port. */
  function findByAddress(ip: string, port: number): ActiveListener | undefined {
    let wildcard: ActiveListener | undefined;
    for (const l of listeners.values()) {
      if (l.config.port !== port || l.config.internal) continue;
      if (l.config.ip === ip) return l;
      if (l.config.ip === "0.0.0.0" || l.config.ip === "::") wildcard ??= l;
    }
    return wildcard;
  }

  /**
   * Envoy's accept-time caps: the overload manager's global count (unless the listener sets
   * ignore_global_conn_limit), then the listener's runtime connection_limit. A connection over
   * either is closed before a byte is read; the ones already open carry on.
   */
  function admit(l: ActiveListener, socket: net.Socket): boolean {
    const c = l.config;
    const global = !c.ignoreGlobalConnLimit;
    if (global && globalActive >= globalMax) {
      l.stats.globalCxOverflow.inc();
      socket.destroy();
      return false;
    }
    const max = perListener?.get(c.name);
    if (max !== undefined && l.accepted.n >= max) {
      l.stats.cxOverflow.inc();
      socket.destroy();
      return false;
    }
    const accepted = l.accepted;
    accepted.n++;
    if (global) globalActive++;
    socket.once("close", () => {
      accepted.n--;
      if (global) globalActive--;
    });
    return true;
  }

  function onAccept(l: ActiveListener, socket: net.Socket): void {
    socket.on("error", () => {});
    if (!admit(l, socket)) return;
    const remoteIp = socket.remoteAddress ?? "";
    const ip6 = remoteIp.includes(":") && !remoteIp.startsWith("::ffff:");
    const conn: ConnInfo = {
      remoteIp: remoteIp.startsWith("::ffff:") ? remoteIp.slice(7) : remoteIp,
      remotePort: socket.remotePort ?? 0,
      remoteAddress: ip6 ? `[${remoteIp}]:${socket.remotePort}` : `${remoteIp.replace(/^::ffff:/, "")}:${socket.remotePort}`,
      localAddress: localOf(socket),
      transportProtocol: "raw_buffer",
      listenerName: l.config.name,
      bufferLimitBytes: l.config.perConnectionBufferLimitBytes,
    };
    if (l.config.originalDstFilter || l.config.useOriginalDst) {
      const od = getOriginalDst(socket);
      if (od) {
        conn.originalDst = od;
        conn.localAddress = od;
      } else if (!warnedOrigDst) {
        const why = originalDstUnavailableReason();
        if (why) {
          warnedOrigDst = true;
          log.warn(`original destination unavailable: ${why}; run \`npx nx run proxy:build\``);
        }
      }
    }
    let target = l;
    if (l.config.useOriginalDst && conn.originalDst) {
      const i = conn.originalDst.lastIndexOf(":");
      let ip = conn.originalDst.slice(0, i);
      if (ip.startsWith("[")) ip = ip.slice(1, -1);
      const t = findByAddress(ip, Number(conn.originalDst.slice(i + 1)));
      if (t && t !== l) target = t;
    }
    conn.listenerName = target.config.name;
    conn.bufferLimitBytes = target.config.perConnectionBufferLimitBytes;
    void runListenerFilters(target, socket, conn);
  }

  async function runListenerFilters(l: ActiveListener, socket: net.Socket, conn: ConnInfo): Promise<void> {
    const c = l.config;
    let first: Buffer | undefined;
    if (c.tlsInspector || c.httpInspector) {
      let tlsDone = !c.tlsInspector;
      let httpDone = !c.httpInspector;
      const { buf, timedOut } = await peek(
        socket,
        (b) => {
          if (!tlsDone) {
            const t = parseClientHello(b);
            if (t.kind !== "need_more") tlsDone = true;
            if (t.kind === "tls") httpDone = true;
          }
          if (!httpDone && inspectHttp(b).kind !== "need_more") httpDone = true;
          return tlsDone && httpDone;
        },
        c.listenerFiltersTimeoutMs,
      );
      if (timedOut && !c.continueOnListenerFiltersTimeout && buf.length === 0) {
        l.stats.filterTimeout.inc();
        socket.destroy();
        return;
      }
      first = buf;
      if (c.tlsInspector) {
        const t = parseClientHello(buf);
        if (t.kind === "tls") {
          conn.transportProtocol = "tls";
          conn.sni = t.sni;
          conn.alpnOffered = t.alpn;
        }
      }
      if (c.httpInspector && conn.transportProtocol !== "tls") {
        const h = inspectHttp(buf);
        if (h.kind === "http") {
          conn.alpn = h.protocol === "h2c" ? "h2c" : h.protocol;
          conn.alpnOffered = [conn.alpn];
        }
      }
    }
    if (socket.destroyed) return;
    let chain: ActiveChain | undefined;
    if (c.chainMatcher) {
      const name = c.chainMatcher(factsOf(conn));
      chain = name !== undefined ? l.byName.get(name) : undefined;
    } else chain = selectFilterChain(l.chains.map((x) => ({ match: x.config.match, x })), factsOf(conn))?.x;
    chain ??= l.defaultChain;
    if (!chain || (chain.config.tls && !chain.tls)) {
      l.stats.noChain.inc();
      if (!chain) log.debug({ listener: c.name, conn }, "no matching filter chain");
      socket.destroy();
      // Listener access logs see connections no chain took (Envoy: NR, "filter_chain_not_found").
      if (c.accessLoggers.length > 0) {
        const info: StreamInfo = {
          startTime: Date.now(),
          durationMs: 0,
          responseFlags: ["NR"],
          bytesReceived: 0,
          bytesSent: 0,
          downstreamLocalAddress: conn.localAddress,
          downstreamRemoteAddress: conn.remoteAddress,
          requestedServerName: conn.sni,
          connectionTerminationDetails: "filter_chain_not_found",
        };
        for (const a of c.accessLoggers) a.log(info);
      }
      return;
    }
    l.stats.cxTotal.inc();
    l.stats.cxActive.inc();
    l.sockets.add(socket);
    socket.once("close", () => {
      l.stats.cxActive.dec();
      l.sockets.delete(socket);
    });
    if (chain.tls) {
      const ch = chain;
      // Never plaintext on a TLS chain: the chain sees only the decrypted socket, after the peer passed.
      chain.tls.terminator.accept(socket, conn, (tlsSocket) => ch.handle(tlsSocket, conn, undefined));
      return;
    }
    chain.handle(socket, conn, first);
  }

  async function bind(l: ActiveListener): Promise<void> {
    const c = l.config;
    if (c.pipe && deps.workerThread && deps.workerThread.index > 0) return;
    const server = net.createServer({ pauseOnConnect: true, noDelay: true });
    server.on("connection", (s) => onAccept(listeners.get(c.name) ?? l, s));
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err) => reject(new Error(`listener ${c.name}: cannot bind ${c.pipe ?? `${c.ip}:${c.port}`}: ${err.message}`)));
      if (c.pipe) server.listen(c.pipe, resolve);
      else if (deps.workerThread) listenReusePort(server, c.ip ?? "0.0.0.0", c.port, 1024, resolve);
      else server.listen({ host: c.ip, port: c.port, backlog: 1024 }, resolve);
    });
    server.on("error", (err) => log.error({ err, listener: c.name }, "listener error"));
    l.server = server;
  }

  function sameAddress(a: ListenerConfig, b: ListenerConfig): boolean {
    return a.ip === b.ip && a.port === b.port && a.pipe === b.pipe && a.bindToPort === b.bindToPort;
  }

  async function closeListener(l: ActiveListener): Promise<void> {
    for (const ch of l.chains) ch.drain();
    await new Promise<void>((r) => (l.server ? l.server.close(() => r()) : r()));
  }

  return {
    async upsert(config, chains, defaultChain) {
      const old = listeners.get(config.name);
      const l: ActiveListener = {
        config,
        chains,
        byName: new Map(chains.filter((c) => c.config.name).map((c) => [c.config.name, c])),
        defaultChain,
        stats: statsFor(config),
        sockets: old?.sockets ?? new Set(),
        accepted: old && sameAddress(old.config, config) ? old.accepted : { n: 0 },
      };
      if (defaultChain?.config.name) l.byName.set(defaultChain.config.name, defaultChain);
      if (old && sameAddress(old.config, config)) {
        // Same socket, new chains: new connections use them; existing ones finish on the old chains.
        l.server = old.server;
        listeners.set(config.name, l);
        for (const ch of old.chains) ch.drain();
        return;
      }
      if (config.bindToPort && !config.internal) await bind(l);
      listeners.set(config.name, l);
      if (old) await closeListener(old);
    },
    async remove(name) {
      const l = listeners.get(name);
      if (!l) return;
      listeners.delete(name);
      await closeListener(l);
    },
    addresses() {
      return [...listeners.values()].map((l) => ({ name: l.config.name, address: l.config.pipe ?? `${l.config.ip}:${l.server ? (l.server.address() as net.AddressInfo).port : l.config.port}` }));
    },
    boundPort(name) {
      const s = listeners.get(name)?.server;
      return s ? (s.address() as net.AddressInfo).port : undefined;
    },
    activeConnections() {
      let n = 0;
      for (const l of listeners.values()) n += l.sockets.size;
      return n;
    },
    async drain(inboundOnly) {
      await Promise.all(
        [...listeners.values()]
          .filter((l) => !inboundOnly || l.config.name.startsWith("virtualInbound") || l.config.name.includes("inbound"))
          .map(async (l) => {
            for (const ch of l.chains) ch.drain();
            if (l.server) await new Promise<void>((r) => l.server!.close(() => r()));
            l.server = undefined;
          }),
      );
    },
    async close() {
      for (const l of listeners.values()) {
        for (const ch of l.chains) ch.close();
        for (const s of l.sockets) s.destroy();
        l.server?.close();
      }
      listeners.clear();
    },
  };
}

function localOf(s: net.Socket): string {
  const a = s.localAddress ?? "";
  if (a.startsWith("::ffff:")) return `${a.slice(7)}:${s.localPort}`;
  return a.includes(":") ? `[${a}]:${s.localPort}` : `${a}:${s.localPort}`;
}
