import { createRequire } from "node:module";
import { pino } from "pino";
import type { CommandLineOptions } from "../cli/command-line-options.js";
import type { ProxyRuntime, ProxyRuntimeOptions, ResourceUpdate } from "../contracts.js";
import { createAccessLogManager, type AccessLogManager } from "../accesslog/access-logger-factory.js";
import { createAdminEndpoints, startAdminServer, type AdminServer } from "../admin/admin-server.js";
import { loadBootstrap } from "../bootstrap/load-bootstrap.js";
import { reportUnimplementedBootstrapFields } from "../bootstrap/report-unimplemented.js";
import { createUnsupportedReporter } from "../bootstrap/unsupported-reporter.js";
import { installServerStats } from "../stats/server-stats.js";
import { createStatsStore, type StatsStoreImpl } from "../stats/stats-store.js";
import { createTagProducer } from "../stats/tag-extractor.js";
import { createAdsClient, type AdsClient } from "../xds/ads-client.js";
import { resolveAdsTarget } from "../xds/ads-target.js";
import { createPatternDestination } from "./log-format.js";
import { createLoggingControl, type LoggingControl } from "./logging-control.js";
import { createServerState, type ServerStateControl } from "./server-state.js";
import { releaseStartupPages } from "./release-startup-pages.js";
import { createWorkerChannel, type WorkerChannel } from "./worker-channel.js";
import type { AdminAddress, WorkerRole } from "./worker-messages.js";
import { compileConnectionLimits } from "../listener/connection-limits.js";

export type RuntimeFactory = (options: ProxyRuntimeOptions) => ProxyRuntime;

export interface StartProxyDeps {
  createRuntime: RuntimeFactory;
  /** Tests pass their own pino destination; default stderr or --log-path. */
  logDestination?: pino.DestinationStream;
  /** Install SIGTERM/SIGINT handlers (the binary does, but not for a worker on the primary's thread; tests don't). */
  handleSignals?: boolean;
  /**
   * This is a worker (thread or process) of a --concurrency N proxy (see run-primary.ts):
   * the primary owns the admin address and relays admin requests and signals here.
   */
  worker?: WorkerRole;
  /** Once LIVE, release Node's startup-only pages from RSS (release-startup-pages.ts): the binary does, once per process. */
  releaseStartupPages?: boolean;
}

export interface RunningProxy {
  runtime: ProxyRuntime;
  stats: StatsStoreImpl;
  serverState: ServerStateControl;
  logging: LoggingControl;
  adminPort(): number | undefined;
  ads(): AdsClient | undefined;
  /** Drain (per --drain-time-s / --drain-strategy) then stop; resolves with the exit code. */
  drainAndStop(): Promise<number>;
  /** Stop now (admin /quitquitquit). */
  stop(): Promise<number>;
  /** Resolves with the exit code once the proxy has stopped. */
  exited: Promise<number>;
}

const require = createRequire(import.meta.url);
const VERSION: string = (require("../../package.json") as { version: string }).version;

/** The composition root: CLI options → bootstrap → stats → access logs → runtime → admin → xDS. */
export async function startProxy(options: CommandLineOptions, deps: StartProxyDeps): Promise<RunningProxy> {
  const startedAt = Date.now();
  const base = deps.logDestination ?? (options.logPath ? pino.destination({ dest: options.logPath, sync: false, mkdir: true }) : pino.destination({ fd: 2, sync: false }));
  const logging = createLoggingControl({
    level: options.logLevel,
    componentLevels: options.componentLogLevels,
    destination: options.logFormat ? createPatternDestination(options.logFormat, base) : base,
  });
  const log = logging.component("main");
  const unsupported = createUnsupportedReporter(logging.component("config"));
  if (options.ignoredFlags.length) {
    log.warn(`ignoring Envoy flags that mean nothing to weft-proxy: ${[...new Set(options.ignoredFlags)].join(", ")}`);
  }
  if (deps.worker) log.debug({ worker: deps.worker.index, kind: deps.worker.kind, concurrency: options.concurrency }, "worker started");

  const loadedAt = new Date();
  const { bootstrap, unknownFields } = loadBootstrap(options);
  for (const f of unknownFields) unsupported.report(f, "unknown field skipped (--allow-unknown-static-fields)");
  reportUnimplementedBootstrapFields(bootstrap, unsupported.report);

  const serverState = createServerState();
  const stats = createStatsStore({ tagProducer: createTagProducer(bootstrap.statsConfig) });
  // The runtime is created after the stats it reports through; server.total_connections reads it late.
  const runtimeRef: { current?: ProxyRuntime } = {};
  installServerStats(stats, {
    state: () => serverState.state(),
    startedAt,
    concurrency: options.concurrency || 1,
    restartEpoch: options.restartEpoch,
    versionNumber: 0,
    activeConnections: () => runtimeRef.current?.activeConnections() ?? 0,
  });

  const accessLogs: AccessLogManager = createAccessLogManager({
    stats,
    logger: logging.component("file"),
    flushIntervalMs: options.fileFlushIntervalMsec,
    reportUnsupported: unsupported.report,
  });
  const node = bootstrap.node;
  const rt = deps.createRuntime({
    stats,
    accessLogs: accessLogs.factory,
    logger: logging.root,
    nodeId: node?.id ?? "",
    nodeMetadata: node?.metadata,
    serviceCluster: node?.cluster || undefined,
    reportUnsupported: unsupported.report,
    healthCheckFailed: () => serverState.healthCheckFailed(),
    connectionLimits: compileConnectionLimits(bootstrap, { workers: options.concurrency || 1, report: unsupported.report }),
    workerThread: deps.worker?.kind === "thread" ? { index: deps.worker.index } : undefined,
    rateLimitBuckets: deps.worker?.rateLimitBuckets,
    // Said once per proxy (worker 0), not once per worker process.
    rateLimitBucketsUnsharedNote:
      deps.worker?.kind === "process" && deps.worker.index === 0
        ? `local_ratelimit: worker processes share no memory, so each of the ${options.concurrency} workers keeps its own buckets and the proxy admits up to ${options.concurrency} × max_tokens per fill_interval (per-connection limits are exact)`
        : undefined,
  });
  runtimeRef.current = rt;

  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((r) => (resolveExit = r));
  let stopping: Promise<number> | undefined;
  let admin: AdminServer | undefined;
  let ads: AdsClient | undefined;

  const stop = (code = 0): Promise<number> =>
    (stopping ??= (async () => {
      log.info("shutting down");
      await ads?.close().catch(() => undefined);
      await rt.close().catch((err: unknown) => log.error({ err }, "runtime close failed"));
      await accessLogs.close().catch(() => undefined);
      await admin?.close().catch(() => undefined);
      channel?.close();
      // pino writes asynchronously: flush before the process may exit.
      await new Promise<void>((r) => logging.root.flush(() => r()));
      resolveExit(code);
      return code;
    })());

  const drainAndStop = async (): Promise<number> => {
    if (stopping) return stopping;
    serverState.setDraining();
    const graceful = options.drainStrategy === "gradual";
    log.info({ drainTimeS: options.drainTimeS, strategy: options.drainStrategy }, "draining listeners");
    await rt.drainListeners({ graceful }).catch((err: unknown) => log.error({ err }, "drain failed"));
    // Wait for the drain time, or less once no connection is left.
    const deadline = Date.now() + options.drainTimeS * 1000;
    while (Date.now() < deadline && rt.activeConnections() > 0 && !stopping) {
      await new Promise((r) => setTimeout(r, Math.min(250, Math.max(1, deadline - Date.now()))));
    }
    return stop(0);
  };

  const adminAddr = bootstrap.admin?.address?.address;
  const channel = deps.worker ? createWorkerChannel(stats, logging.component("admin"), deps.worker) : undefined;
  if (deps.worker) installWorkerListenerStats(stats, deps.worker.index);
  // The primary was killed: its listeners are gone, so is this worker.
  channel?.onPrimaryGone(() => {
    log.warn("primary process gone: exiting");
    void stop(1);
  });

  const adminDeps = {
    statsForAdmin: channel?.statsForAdmin,
    runtime: rt,
    stats,
    bootstrap,
    bootstrapLoadedAt: loadedAt,
    serverState,
    logging,
    options,
    startedAt,
    version: `weft-proxy/${VERSION}`,
    logger: logging.component("admin"),
    onQuit: () => void stop(0),
  };
  try {
    if (channel) {
      // The primary listens on the admin address and asks this worker.
      channel.serveAdmin(createAdminEndpoints(adminDeps));
    } else if (adminAddr?.case === "socketAddress") {
      const port = adminAddr.value.portSpecifier.case === "portValue" ? adminAddr.value.portSpecifier.value : 0;
      admin = await startAdminServer(adminDeps, { host: adminAddr.value.address || "127.0.0.1", port });
      log.info({ address: `${adminAddr.value.address}:${admin.port()}` }, "admin listening");
    } else if (adminAddr?.case === "pipe") {
      admin = await startAdminServer(adminDeps, { path: adminAddr.value.path });
    }

    serverState.setInitializing();
    rt.onInitialized(() => {
      if (serverState.state() !== "DRAINING") serverState.setLive();
      log.info("all clusters and listeners initialized: LIVE");
      // A second later: the tail of starting (binding listeners, the first ACKs) has run by then.
      if (deps.releaseStartupPages) setTimeout(() => releaseStartupPages(log), 1000).unref();
      if (options.mode === "init_only") void stop(0);
    });
    await rt.applyBootstrap(bootstrap);

    const target = resolveAdsTarget(bootstrap);
    if (target && channel && deps.worker!.index > 0) {
      // One xDS stream per proxy, as Envoy: worker 0 holds it and passes on what it applies.
      channel.applyUpdatesWith((update) => rt.apply(update));
    } else if (target) {
      if (!node) throw new Error("node: required to talk to the xDS server");
      const runtime = channel ? { subscriptions: () => rt.subscriptions(), apply: (u: ResourceUpdate) => applyAndPublish(rt, u, channel) } : rt;
      ads = createAdsClient({ node, target, runtime, stats, logger: logging.root });
      ads.start();
    }
    if (channel) {
      let addr: AdminAddress | null = null;
      if (adminAddr?.case === "socketAddress") {
        const port = adminAddr.value.portSpecifier.case === "portValue" ? adminAddr.value.portSpecifier.value : 0;
        addr = { host: adminAddr.value.address || "127.0.0.1", port };
      } else if (adminAddr?.case === "pipe") addr = { path: adminAddr.value.path };
      channel.ready(addr);
    }
  } catch (err) {
    await stop(1);
    throw err;
  }

  let signals = 0;
  const onSignal = (sig: string) => {
    signals++;
    if (signals > 1) {
      log.warn(`${sig} again: exiting now`);
      void stop(0);
      return;
    }
    log.info(`${sig}: draining then exiting`);
    void drainAndStop();
  };
  if (deps.handleSignals) {
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    process.on("SIGINT", () => onSignal("SIGINT"));
  }
  // A thread worker gets no signal of its own (or shares the primary's thread): the primary relays them.
  channel?.onSignal(onSignal);

  return {
    runtime: rt,
    stats,
    serverState,
    logging,
    adminPort: () => admin?.port(),
    ads: () => ads,
    drainAndStop,
    stop: () => stop(0),
    exited,
  };
}

/** Worker 0: apply an xDS update, then (accepted) hand it to the other workers; a rejected one stays here (NACK). */
async function applyAndPublish(rt: ProxyRuntime, update: ResourceUpdate, channel: WorkerChannel): Promise<void> {
  await rt.apply(update);
  channel.publishUpdate(update);
}

/**
 * Envoy's per-worker listener stats (listener.<addr>.worker_<N>.downstream_cx_total / _active):
 * a worker's own listener counters are exactly its share, copied before each render.
 */
function installWorkerListenerStats(stats: StatsStoreImpl, index: number): void {
  const PER_WORKER = /^(listener\.(?:(?!worker_\d+\.).)+\.)(downstream_cx_total|downstream_cx_active)$/;
  stats.onBeforeRender(() => {
    const found: Array<[string, number, boolean]> = [];
    for (const c of stats.counters()) {
      const m = PER_WORKER.exec(c.name);
      if (m) found.push([`${m[1]}worker_${index}.${m[2]}`, c.current, true]);
    }
    for (const g of stats.gauges()) {
      const m = PER_WORKER.exec(g.name);
      if (m) found.push([`${m[1]}worker_${index}.${m[2]}`, g.current, false]);
    }
    for (const [name, value, counter] of found) {
      if (counter) stats.counter(name).current = value;
      else stats.gauge(name).set(value);
    }
  });
}

export { VERSION as WEFT_PROXY_VERSION };
