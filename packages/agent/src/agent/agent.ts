import type { Logger } from "pino";
import { writeBootstrap } from "../cli/bootstrap-command.js";
import type { AgentEnv } from "../env/agent-env.js";
import { parseAppProbers } from "../health/app-probers.js";
import { appScrapeTarget, renderAgentMetrics } from "../health/metrics-merge.js";
import { createStatusServer, type ReadinessReport, type StatusServer } from "../health/status-server.js";
import { createFileCertificateProvider, type CertificateProvider } from "../sds/certificate-provider.js";
import { createSdsServer, type SdsServer } from "../sds/sds-server.js";
import { proxyArgs } from "../supervisor/proxy-args.js";
import type { ProxyCommand } from "../supervisor/resolve-proxy-binary.js";
import { createSupervisor, type Supervisor } from "../supervisor/supervisor.js";
import type { Backoff } from "../xds-proxy/backoff.js";
import { createPlaintextDialer, type UpstreamDialer } from "../xds-proxy/upstream.js";
import { createXdsProxy, type XdsProxy } from "../xds-proxy/xds-proxy.js";
import { createProxyAdmin, type ProxyAdmin } from "./proxy-admin.js";
import { releaseStartupPages } from "../supervisor/startup-pages.js";

export interface AgentOptions {
  env: AgentEnv;
  proxy: ProxyCommand;
  log: Logger;
  proxyLogLevel?: string;
  proxyComponentLogLevel?: string;
  /** Seams for the security issue: CSR-based certificates and a TLS dialer to 15012. */
  certificateProvider?: CertificateProvider;
  dialer?: UpstreamDialer;
  /** With a CA-backed provider: why there is no certificate yet (not ready until there is one), else undefined. */
  certificateNotReady?: () => string | undefined;
  xdsBackoff?: () => Backoff;
  proxyBackoff?: Backoff;
  /** Upper bound of the wait for zero connections with EXIT_ON_ZERO_ACTIVE_CONNECTIONS. */
  maxDrainMs?: number;
  proxyStdio?: "inherit" | "ignore";
  /**
   * Once the sidecar is first ready (or a minute after the proxy starts, if nothing asks), release
   * Node's startup-only pages from this process's RSS (supervisor/startup-pages.ts). The CLI does.
   */
  releaseStartupPages?: boolean;
}

export interface Agent {
  readonly done: Promise<number>;
  readonly statusPort: number;
  readiness(): Promise<ReadinessReport>;
  /** SIGTERM behaviour: not ready, drain inbound listeners, wait, stop the proxy, close. */
  drainAndStop(): Promise<void>;
  /** /quitquitquit behaviour: stop at once. */
  quit(): Promise<void>;
  signalProxy(sig: NodeJS.Signals): void;
  readonly supervisor: Supervisor;
  readonly xds: XdsProxy;
}

/** Starts everything pilot-agent runs for one pod: SDS, XDS proxy, status server, and the supervised proxy. */
export async function startAgent(o: AgentOptions): Promise<Agent> {
  const { env, log } = o;
  const startedAt = Date.now();
  // Rendered by a child process (bootstrap/render-in-child.ts) while the agent's own servers
  // start; awaited just before the proxy starts. The no-op catch only keeps an early failure
  // from counting as unhandled in the meantime: the await below still throws it.
  const bootstrapWritten = writeBootstrap(env);
  bootstrapWritten.catch(() => undefined);

  const certs = o.certificateProvider ?? (await createFileCertificateProvider(env.certs, log.child({ component: "certs" })));
  const sds: SdsServer = await createSdsServer(env.sdsSocketPath, certs, log.child({ component: "sds" }));
  const xds = await createXdsProxy({
    socketPath: env.xdsSocketPath,
    dialer: o.dialer ?? createPlaintextDialer(env.proxyConfig.discoveryAddress),
    log: log.child({ component: "xds-proxy" }),
    backoff: o.xdsBackoff,
  });
  const adminHost = env.adminAddress === "0.0.0.0" ? "127.0.0.1" : env.adminAddress;
  const promHost = env.listenAddress === "0.0.0.0" ? "127.0.0.1" : env.listenAddress;
  const admin: ProxyAdmin = createProxyAdmin(`http://${adminHost}:${env.ports.admin}`, `http://${promHost}:${env.ports.prometheus}`);

  let draining = false;
  let ready = false;
  let pagesTimer: NodeJS.Timeout | undefined;
  let pagesDue = Infinity;
  /** Releases the startup pages `ms` from now unless that is already due sooner; once. */
  const pagesAfter = (ms: number): void => {
    if (!o.releaseStartupPages || Date.now() + ms >= pagesDue) return;
    clearTimeout(pagesTimer);
    pagesDue = Date.now() + ms;
    pagesTimer = setTimeout(() => {
      pagesDue = -Infinity;
      releaseStartupPages(o.proxy.file, log);
    }, ms).unref();
  };
  const readiness = async (): Promise<ReadinessReport> => {
    if (draining) return { ready: false, reason: "draining: the sidecar is shutting down" };
    const noCert = o.certificateNotReady?.();
    if (noCert) return { ready: false, reason: noCert };
    const x = xds.status();
    if (!x.hasFirstConfig) return { ready: false, reason: `proxy has not received its first config (CDS and LDS) from ${env.proxyConfig.discoveryAddress}` };
    if (!(await admin.isLive())) return { ready: false, reason: "proxy admin /ready is not LIVE" };
    if (!ready) pagesAfter(1000);
    ready = true;
    return { ready: true, reason: "" };
  };

  const supervisor = createSupervisor({
    proxy: o.proxy,
    args: proxyArgs({
      bootstrapPath: env.bootstrapPath,
      drainDurationMs: env.proxyConfig.drainDurationMs,
      logLevel: o.proxyLogLevel ?? "warning",
      componentLogLevel: o.proxyComponentLogLevel ?? "misc:error",
      concurrency: env.concurrency.workers,
    }),
    log: log.child({ component: "supervisor" }),
    backoff: o.proxyBackoff,
    stdio: o.proxyStdio,
    onStart: () => xds.resetFirstConfig(),
  });

  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  let stopping: Promise<void> | undefined;

  const closeAll = async () => {
    clearTimeout(pagesTimer);
    await status.close();
    await xds.close();
    await sds.close();
    certs.close();
  };

  const drainAndStop = () =>
    (stopping ??= (async () => {
      draining = true;
      // Shutting down: a proxy that exits now (it may have got the signal too) stays down.
      supervisor.hold();
      // terminationDrainDuration bounds the whole shutdown, measured from the signal.
      const drainMs = env.proxyConfig.terminationDrainDurationMs;
      const deadline = Date.now() + drainMs;
      // The tail after the drain: stop the proxy, close the agent's own servers, exit.
      const tailMs = Math.min(1000, Math.max(250, drainMs / 8));
      const closeReserveMs = Math.min(500, tailMs / 2);
      log.info("draining: not ready, draining inbound listeners");
      await admin.drainInbound().catch((err) => log.warn({ err: (err as Error).message }, "drain_listeners failed"));
      if (env.exitOnZeroActiveConnections) {
        // Istio: wait for the proxy's connections to reach zero instead of a fixed time.
        const deadline = Date.now() + (o.maxDrainMs ?? 30_000);
        for (;;) {
          await new Promise((r) => setTimeout(r, 500));
          const active = await admin.activeConnections();
          log.info({ active }, "waiting for active connections to reach zero");
          if (active === 0 || active === undefined || Date.now() > deadline) break;
        }
      } else {
        // Keep serving established connections, leaving time to stop the proxy before the deadline.
        await new Promise((r) => setTimeout(r, Math.max(0, deadline - tailMs - Date.now())));
      }
      // Drained already: ask the proxy to exit now (admin /quitquitquit), SIGTERM/SIGKILL as fallback.
      await supervisor.stop(Math.max(200, deadline - closeReserveMs - Date.now()), () => admin.quit());
      await closeAll();
      resolveDone(0);
    })());

  const quit = () =>
    (stopping ??= (async () => {
      draining = true;
      log.info("quitquitquit: stopping the sidecar");
      await supervisor.stop(2000, () => admin.quit());
      await closeAll();
      resolveDone(0);
    })());

  const status: StatusServer = await createStatusServer({
    host: env.listenAddress,
    port: env.ports.status,
    log: log.child({ component: "status" }),
    readiness,
    proxyMetrics: () => admin.prometheus(),
    agentMetrics: () => {
      const x = xds.status();
      return renderAgentMetrics({
        istio_agent_xds_proxy_connected: { help: "Whether the XDS proxy has a live stream to discovery (1) or not (0).", type: "gauge", value: x.upstreamConnected ? 1 : 0 },
        istio_agent_xds_proxy_acks_total: { help: "xDS ACKs relayed from the proxy.", type: "counter", value: x.acks },
        istio_agent_xds_proxy_nacks_total: { help: "xDS NACKs relayed from the proxy.", type: "counter", value: x.nacks },
        istio_agent_sds_pushes_total: { help: "Secrets pushed to the proxy.", type: "counter", value: sds.pushes() },
        istio_agent_proxy_restarts_total: { help: "Times the proxy was restarted after dying.", type: "counter", value: supervisor.restarts },
        istio_agent_ready: { help: "1 once the sidecar has been ready.", type: "gauge", value: ready && !draining ? 1 : 0 },
        istio_agent_uptime_seconds: { help: "Seconds since the agent started.", type: "gauge", value: Math.round((Date.now() - startedAt) / 1000) },
      });
    },
    appScrape: appScrapeTarget(env.prometheusAnnotations, env.podInfo.annotations, env.ports.status),
    appHost: env.instanceIp,
    probers: parseAppProbers(env.appProbers),
    onQuit: () => void quit(),
  });

  try {
    await bootstrapWritten;
  } catch (err) {
    await closeAll();
    throw err;
  }
  log.info({ path: env.bootstrapPath }, "bootstrap written");
  supervisor.start();
  pagesAfter(60_000);
  return {
    done,
    statusPort: status.port,
    readiness,
    drainAndStop,
    quit,
    signalProxy: (sig) => supervisor.signal(sig),
    supervisor,
    xds,
  };
}
