// The composition root: source → push context → generators → cache → server,
// plus the gRPC, debug and monitoring listeners. Everything it wires is an
// interface, so tests pass fakes and the binary passes the real pieces.
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import type { ConfigSource, ProxyParser, PushContextBuilder, XdsGenerator } from "../contracts.js";
import { createConfigCache, type ConfigCache } from "../cache/config-cache.js";
import { createDebugHandler } from "../debug/debug-handler.js";
import { createPilotMetrics, type PilotMetrics } from "../metrics/pilot-metrics.js";
import { createDebouncer, type DebouncedChange } from "../push/debouncer.js";
import { createAdsServer, type AdsServer, type PushSummary } from "../server/ads-server.js";
import { formatAddress, parseListenAddress } from "./listen-address.js";

export interface DiscoveryAppOptions {
  source: ConfigSource;
  pushContextBuilder: PushContextBuilder;
  generators: ReadonlyMap<string, XdsGenerator>;
  parseProxy: ProxyParser;
  logger: Logger;
  domain?: string;
  /** `host:port`; port 0 picks a free one (tests). */
  grpcAddr: string;
  httpAddr?: string;
  monitoringAddr?: string;
  debounce?: { quietMs?: number; maxMs?: number };
  maxConnectionAgeMs?: number;
  version?: string;
}

export interface PushEvent extends PushSummary {
  full: boolean;
  version: string;
  /** Debounced source events in this push (0 for the initial push). */
  merged: number;
}

export interface DiscoveryAddresses {
  grpc: string;
  http?: string;
  monitoring?: string;
}

export interface DiscoveryApp {
  readonly server: AdsServer;
  readonly cache: ConfigCache;
  readonly metrics: PilotMetrics;
  start(): Promise<DiscoveryAddresses>;
  close(): Promise<void>;
  ready(): boolean;
  onPush(listener: (event: PushEvent) => void): () => void;
}

type Closable = http.Server | http2.Http2Server;

/** Accept backlog (the kernel caps it at net.core.somaxconn). */
const LISTEN_BACKLOG = 4096;

function listen(server: Closable, flag: string, value: string): Promise<string> {
  const { host, port } = parseListenAddress(flag, value);
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(new Error(`${flag} ${value}: cannot listen: ${error.message}`, { cause: error }));
    server.once("error", onError);
    // Go servers (istiod) take the kernel's somaxconn as their accept backlog;
    // Node's default of 511 overflows when a thousand proxies reconnect at
    // once (after a restart) while the loop is busy, and the kernel then
    // resets connections whose handshake it had already completed.
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off("error", onError);
      resolve(formatAddress(server.address() as AddressInfo));
    });
  });
}

export function createDiscoveryApp(options: DiscoveryAppOptions): DiscoveryApp {
  const logger = options.logger;
  const version = options.version ?? "0.1.0";
  const metrics = createPilotMetrics({ version });
  const cache = createConfigCache({ generators: options.generators });
  const server = createAdsServer({
    cache,
    metrics,
    logger: logger.child({ component: "ads" }),
    parseProxy: options.parseProxy,
    domain: options.domain ?? "cluster.local",
    maxConnectionAgeMs: options.maxConnectionAgeMs,
  });
  const listeners = new Set<(e: PushEvent) => void>();
  let isReady = false;
  let unsubscribe: (() => void) | undefined;
  const servers: Closable[] = [];
  const sessions = new Set<http2.ServerHttp2Session>();

  async function pushNow(change: DebouncedChange | undefined): Promise<void> {
    // Endpoints and Secrets alone are incremental: EDS to the proxies watching
    // the changed clusters, SDS to those watching the changed credentials.
    const edsOnly = change !== undefined && change.endpointsOnly && isReady;
    const snapshot = options.source.snapshot();
    const push = options.pushContextBuilder.build(snapshot, cache.current());
    metrics.configErrors.set(push.errors.length);
    const secrets = edsOnly ? change.secrets : undefined;
    const edsClusters = cache.update(push, edsOnly ? change.endpointServices : undefined, secrets);
    isReady = true;
    metrics.pushTriggers.inc({ type: edsOnly ? (change.endpointServices.size > 0 ? "endpoint" : "secret") : change ? "config" : "startup" });
    const summary = await server.push({
      full: !edsOnly,
      edsClusters: edsOnly ? edsClusters : undefined,
      ...(secrets && secrets.size > 0 ? { secrets } : {}),
      startedAt: change?.firstAt ?? performance.now(),
    });
    const event: PushEvent = { ...summary, full: !edsOnly, version: push.version, merged: change?.merged ?? 0 };
    logger.debug(event, "push done");
    for (const l of listeners) l(event);
  }

  const debouncer = createDebouncer({
    quietMs: options.debounce?.quietMs,
    maxMs: options.debounce?.maxMs,
    flush: (change) => pushNow(change),
    onError: (error) => logger.error({ err: error }, "push failed; proxies keep their last config"),
  });

  return {
    server,
    cache,
    metrics,
    ready: () => isReady,
    onPush(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async start() {
      const viaConnect = connectNodeAdapter({
        routes: (router) => server.routes(router),
        // No response compression: on a control-plane network the CPU is
        // dearer than the bytes, and a push fans one response out to every
        // proxy (istiod does not compress either). Only identity is accepted.
        acceptCompression: [],
      });
      // Plain gRPC ADS streams are served directly (the hot path: every push
      // and every ACK); everything else, odd variants included, by connect.
      const grpcServer = http2.createServer((req, res) => {
        if (!server.handleHttp2(req, res)) viaConnect(req, res);
      });
      grpcServer.on("session", (s) => {
        sessions.add(s);
        s.once("close", () => sessions.delete(s));
      });
      servers.push(grpcServer);
      const addresses: DiscoveryAddresses = { grpc: await listen(grpcServer, "--grpc-addr", options.grpcAddr) };
      if (options.httpAddr !== undefined) {
        const debug = http.createServer(createDebugHandler({ server, cache, ready: () => isReady, version }));
        servers.push(debug);
        addresses.http = await listen(debug, "--http-addr", options.httpAddr);
      }
      if (options.monitoringAddr !== undefined) {
        const monitoring = http.createServer((req, res) => {
          if (req.url?.split("?")[0] !== "/metrics") {
            res.writeHead(404, { "content-type": "text/plain" });
            return res.end("only /metrics is served here\n");
          }
          const body = metrics.render();
          res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
          res.end(body);
        });
        servers.push(monitoring);
        addresses.monitoring = await listen(monitoring, "--monitoring-addr", options.monitoringAddr);
      }
      await options.source.start();
      unsubscribe = options.source.onChange((change) => debouncer.add(change));
      await pushNow(undefined);
      return addresses;
    },

    async close() {
      unsubscribe?.();
      debouncer.close();
      server.closeAll();
      await options.source.stop();
      for (const s of sessions) s.close();
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              // Streams that do not end on their own (a stuck client) must not hold shutdown.
              setTimeout(() => {
                for (const session of sessions) session.destroy();
                (s as http.Server).closeAllConnections?.();
                resolve();
              }, 2000).unref();
            }),
        ),
      );
    },
  };
}
