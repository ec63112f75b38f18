// Turns a compiled listener's chains into live handlers (an HTTP connection
// manager or a tcp_proxy per chain), wired to the runtime's route tables and
// clusters.
import type { Socket } from "node:net";
import type { Logger } from "pino";
import type { ConnInfo } from "../listener/conn-info.js";
import type { StatsStore } from "../contracts.js";
import { createConnectionManager } from "../http/connection-manager.js";
import { createHcmStats } from "../http/hcm-runtime.js";
import type { ActiveChain } from "../listener/listener-manager.js";
import { createTcpProxyHandler } from "../tcp/tcp-proxy.js";
import type { Cluster } from "../upstream/cluster.js";
import type { ChainConfig, ListenerConfig } from "./compile-listener.js";
import type { TlsContextSpec } from "../tls/compile-tls-context.js";
import type { LiveTlsContext } from "../tls/live-tls-context.js";
import { createDownstreamTls } from "../tls/downstream-tls.js";
import { createTlsStats } from "../tls/tls-stats.js";
import type { CompiledRouteConfig } from "./compile-route-config.js";

export interface ChainDeps {
  stats: StatsStore;
  logger: Logger;
  random: () => number;
  routes(name: string): CompiledRouteConfig | undefined;
  cluster(name: string): Cluster | undefined;
  draining(): boolean;
  /** Binds a chain's DownstreamTlsContext to the secret store (rotation-aware). */
  tlsContext?(spec: TlsContextSpec): LiveTlsContext;
}

/**
 * Runs the chain's network filters (rbac, istio_authn) on a new connection;
 * false when one of them closed it (Envoy closes without flushing).
 */
function passNetworkFilters(c: ChainConfig, socket: Socket, conn: ConnInfo): boolean {
  for (const f of c.networkFilters) {
    const closeDetails = f.onConnection(conn, socket);
    if (closeDetails !== undefined) {
      if (f.closeDelayMs) {
        // Slow rejection (connection_limit `delay`): read nothing, close later, so a client cannot retry in a tight loop.
        socket.pause();
        const t = setTimeout(() => socket.destroy(), f.closeDelayMs);
        socket.once("close", () => clearTimeout(t));
      } else socket.destroy();
      return false;
    }
  }
  return true;
}

function buildChain(c: ChainConfig, l: ListenerConfig, deps: ChainDeps): ActiveChain {
  const t = c.terminal;
  const gated = c.networkFilters.length > 0;
  if (t.kind === "http") {
    const hcm = t.hcm;
    const inline = hcm.inlineRoutes;
    const rds = hcm.rdsName;
    // A listener update drains this chain: its connections finish on it, HTTP/1.1 ones closing
    // after their next response, so new requests soon reach the new chains (Envoy's drain).
    let chainDraining = false;
    const cm = createConnectionManager({
      config: hcm,
      stats: createHcmStats(deps.stats, hcm.statPrefix),
      routes: inline ? () => inline : () => deps.routes(rds!),
      cluster: deps.cluster,
      logger: deps.logger.child({ listener: l.name, chain: c.name }),
      random: deps.random,
      draining: () => chainDraining || deps.draining(),
    });
    return {
      config: c,
      handle: gated ? (s, conn, first) => passNetworkFilters(c, s, conn) && cm.handle(s, conn, first) : (s, conn, first) => cm.handle(s, conn, first),
      drain: () => {
        chainDraining = true;
        cm.drain();
      },
      close: () => cm.close(),
    };
  }
  const handler = createTcpProxyHandler(
    { config: t.tcp, cluster: deps.cluster, logger: deps.logger.child({ listener: l.name, chain: c.name }), random: deps.random, observers: t.observers, peerExchange: t.peerExchange },
    deps.stats,
  );
  return {
    config: c,
    handle: gated ? (s, conn) => passNetworkFilters(c, s, conn) && handler(s, conn) : (s, conn) => handler(s, conn),
    drain: () => {},
    close: () => {},
  };
}

/** A TLS chain owns its live context: released when the chain stops taking connections. */
function withTls(chain: ActiveChain, c: ChainConfig, l: ListenerConfig, deps: ChainDeps): ActiveChain {
  if (!c.tls) return chain;
  if (!deps.tlsContext) throw new Error(`filter chain ${c.name || "<unnamed>"} needs TLS but the runtime has no secret store`);
  const live = deps.tlsContext(c.tls);
  const connectTimeouts = deps.stats.counter(`listener.${l.statName}.downstream_cx_transport_socket_connect_timeout`);
  const terminator = createDownstreamTls({
    live,
    stats: createTlsStats(deps.stats, `listener.${l.statName}.`),
    logger: deps.logger,
    handshakeTimeoutMs: c.transportSocketConnectTimeoutMs ?? (l.listenerFiltersTimeoutMs || 15_000),
    connectTimeoutMs: c.transportSocketConnectTimeoutMs,
    onConnectTimeout: () => connectTimeouts.inc(),
  });
  return {
    ...chain,
    tls: { live, terminator },
    drain() {
      // Handshakes already under way finish on this chain (its context stays); it only stops following rotations.
      live.release();
      chain.drain();
    },
    close() {
      terminator.close();
      live.release();
      chain.close();
    },
  };
}

export function buildChains(l: ListenerConfig, deps: ChainDeps): { chains: ActiveChain[]; defaultChain?: ActiveChain } {
  return {
    chains: l.chains.map((c) => withTls(buildChain(c, l, deps), c, l, deps)),
    defaultChain: l.defaultChain ? withTls(buildChain(l.defaultChain, l, deps), l.defaultChain, l, deps) : undefined,
  };
}
