import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Bootstrap } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb";
import type { CommandLineOptions } from "../cli/command-line-options.js";
import type { ProxyRuntime } from "../contracts.js";
import type { ServerStateControl } from "../app/server-state.js";
import { isEnvoyLogLevel, type LoggingControl } from "../app/logging-control.js";
import { renderPrometheus } from "../stats/prometheus-format.js";
import type { StatsStoreImpl } from "../stats/stats-store.js";
import { renderStatsJson, renderStatsText } from "../stats/stats-text-format.js";
// config-dump, cluster-status and server-info are imported on their first request: they
// bring envoy.admin.v3's descriptors (≈ 0.5 MB of heap once hydrated), which serve operators'
// requests, not traffic, and most sidecars never get one.

export interface AdminDeps {
  runtime: ProxyRuntime;
  stats: StatsStoreImpl;
  bootstrap: Bootstrap;
  bootstrapLoadedAt: Date;
  serverState: ServerStateControl;
  logging: LoggingControl;
  options: CommandLineOptions;
  startedAt: number;
  version: string;
  logger: Logger;
  /** /quitquitquit: graceful exit, after the response is sent. */
  onQuit(): void;
  /**
   * With --concurrency N (N workers), the store /stats renders: this
   * worker's stats summed with every other worker's. Default: `stats`.
   */
  statsForAdmin?: () => Promise<StatsStoreImpl>;
}

export interface AdminReply {
  status?: number;
  type?: string;
  body: string;
}

type Reply = AdminReply;
type Handler = (url: URL) => Reply | Promise<Reply>;

export interface AdminEndpoint {
  help: string;
  /** Envoy's mutates_server_state: anything but POST gets 405. */
  post?: boolean;
  handle: Handler;
}

const json = (value: unknown, status = 200): Reply => ({ status, type: "application/json", body: JSON.stringify(value, null, 2) + "\n" });
const text = (body: string, status = 200): Reply => ({ status, type: "text/plain; charset=UTF-8", body });

function regexParam(url: URL): RegExp | undefined {
  const f = url.searchParams.get("filter");
  if (!f) return undefined;
  try {
    return new RegExp(f);
  } catch {
    throw new AdminInputError(`Invalid re2 regex: ${f}`);
  }
}

class AdminInputError extends Error {}

/** The admin endpoints, by path (Envoy's admin API). */
export function createAdminEndpoints(deps: AdminDeps): Map<string, AdminEndpoint> {
  const { runtime, stats, serverState, logging } = deps;
  const staticClusters = new Set((deps.bootstrap.staticResources?.clusters ?? []).map((c) => c.name));
  const endpoints = new Map<string, AdminEndpoint>();
  const add = (path: string, e: AdminEndpoint) => endpoints.set(path, e);
  const statsView = (): Promise<StatsStoreImpl> => deps.statsForAdmin?.() ?? Promise.resolve(stats);

  add("/config_dump", {
    help: "dump current Envoy configs (?include_eds, ?resource=, ?mask=)",
    handle: async (url) => {
      const { buildConfigDump, configDumpJson, ConfigDumpQueryError } = await import("./config-dump.js");
      try {
        const dump = buildConfigDump(runtime, deps.bootstrap, deps.bootstrapLoadedAt, {
          includeEds: url.searchParams.has("include_eds"),
          resource: url.searchParams.get("resource") ?? undefined,
        });
        return json(configDumpJson(dump, url.searchParams.get("mask") ?? undefined));
      } catch (err) {
        if (err instanceof ConfigDumpQueryError) return text(err.message + "\n", 404);
        throw err;
      }
    },
  });
  add("/clusters", {
    help: "upstream cluster status (?format=json)",
    handle: async (url) => {
      const { renderClustersJson, renderClustersText } = await import("./cluster-status.js");
      return url.searchParams.get("format") === "json" ? json(renderClustersJson(runtime, staticClusters)) : text(renderClustersText(runtime));
    },
  });
  add("/listeners", {
    help: "print listener info (?format=json)",
    handle: async (url) => {
      const { renderListenersJson, renderListenersText } = await import("./cluster-status.js");
      return url.searchParams.get("format") === "json" ? json(renderListenersJson(runtime)) : text(renderListenersText(runtime));
    },
  });
  add("/stats", {
    help: "print server stats (?filter=, ?usedonly, ?format=json|prometheus)",
    handle: async (url) => {
      const query = { filter: regexParam(url), usedOnly: url.searchParams.has("usedonly") };
      const store = await statsView();
      const format = url.searchParams.get("format");
      if (format === "json") return json(renderStatsJson(store, query));
      if (format === "prometheus") return { type: "text/plain; version=0.0.4", body: renderPrometheus(store, query) };
      return text(renderStatsText(store, query));
    },
  });
  add("/stats/prometheus", {
    help: "print server stats in prometheus format",
    handle: async (url) => {
      const filter = regexParam(url);
      return { type: "text/plain; version=0.0.4", body: renderPrometheus(await statsView(), { filter }) };
    },
  });
  add("/ready", {
    help: "print server state, return 200 if LIVE, otherwise return 503",
    handle: () => {
      const state = serverState.state();
      return text(state + "\n", state === "LIVE" ? 200 : 503);
    },
  });
  add("/server_info", {
    help: "print server version/status information",
    handle: async () => json((await import("./server-info.js")).renderServerInfo({ version: deps.version, state: serverState.state(), startedAt: deps.startedAt, options: deps.options, node: deps.bootstrap.node })),
  });
  add("/logging", {
    help: "query/change logging levels (POST ?level=<level> or ?<component>=<level>)",
    handle: (url) => {
      const params = [...url.searchParams];
      if (params.length === 0) return text("active loggers:\n" + logging.list().map((l) => `  ${l.component}: ${l.level}\n`).join(""));
      for (const [key, value] of params) {
        const level = value === "warn" ? "warning" : value;
        if (!isEnvoyLogLevel(level)) return text(`error: unknown logger level '${value}'\n`, 404);
        if (key === "level") logging.setAll(level);
        else if (!logging.set(key, level)) return text(`error: unknown logger name '${key}'\n`, 404);
      }
      return text("active loggers:\n" + logging.list().map((l) => `  ${l.component}: ${l.level}\n`).join(""));
    },
  });
  add("/drain_listeners", {
    help: "drain listeners (?inboundonly, ?graceful)",
    post: true,
    handle: async (url) => {
      await runtime.drainListeners({ inboundOnly: url.searchParams.has("inboundonly"), graceful: url.searchParams.has("graceful") });
      return text("OK\n");
    },
  });
  add("/healthcheck/fail", {
    help: "cause the server to fail health checks",
    post: true,
    handle: () => {
      serverState.setHealthCheckFailed(true);
      return text("OK\n");
    },
  });
  add("/healthcheck/ok", {
    help: "cause the server to pass health checks",
    post: true,
    handle: () => {
      serverState.setHealthCheckFailed(false);
      return text("OK\n");
    },
  });
  add("/quitquitquit", {
    help: "exit the server",
    post: true,
    handle: () => {
      setImmediate(() => deps.onQuit());
      return text("OK\n");
    },
  });
  add("/reset_counters", {
    help: "reset all counters to zero",
    post: true,
    handle: () => {
      for (const c of stats.counters()) c.current = 0;
      return text("OK\n");
    },
  });
  add("/memory", {
    help: "print current allocation/heap usage",
    handle: () => {
      const m = process.memoryUsage();
      // uint64 fields print as strings in proto3 JSON, as Envoy's do.
      return json({
        allocated: String(m.heapUsed),
        heap_size: String(m.heapTotal),
        pageheap_unmapped: "0",
        pageheap_free: "0",
        total_thread_cache: "0",
        total_physical_bytes: String(m.rss),
      });
    },
  });
  add("/certs", { help: "print certs on machine", handle: () => json({ certificates: [] }) });
  add("/runtime", {
    help: "print runtime values",
    handle: () => {
      const layers = deps.bootstrap.layeredRuntime?.layers ?? [];
      const entries: Record<string, { layer_values: string[]; final_value: string }> = {};
      layers.forEach((layer, i) => {
        if (layer.layerSpecifier.case !== "staticLayer") return;
        for (const [k, v] of Object.entries(layer.layerSpecifier.value)) {
          const e = (entries[k] ??= { layer_values: layers.map(() => ""), final_value: "" });
          e.layer_values[i] = String(v);
          e.final_value = String(v);
        }
      });
      return json({ layers: layers.map((l) => l.name), entries });
    },
  });
  add("/help", {
    help: "print out list of admin commands",
    handle: () => text("admin commands are:\n" + [...endpoints].map(([p, e]) => `  ${p}: ${e.help}\n`).join("")),
  });
  return endpoints;
}

/** One admin request → its reply (the HTTP server's, and a worker's over IPC). */
export async function dispatchAdminRequest(endpoints: Map<string, AdminEndpoint>, method: string, rawUrl: string, log: Logger): Promise<AdminReply> {
  const url = new URL(rawUrl, "http://admin");
  const path = url.pathname === "/" ? "/help" : url.pathname;
  const endpoint = endpoints.get(path);
  if (!endpoint) return text(`invalid path. admin commands are:\n${[...endpoints.keys()].map((p) => `  ${p}\n`).join("")}`, 404);
  if ((endpoint.post || (path === "/logging" && url.search)) && method !== "POST") return text("This endpoint requires POST\n", 405);
  try {
    return await endpoint.handle(url);
  } catch (err) {
    if (err instanceof AdminInputError) return text(err.message + "\n", 400);
    log.error({ err, path }, "admin handler failed");
    return text(`error: ${(err as Error).message}\n`, 500);
  }
}

/** Envoy's admin response headers (405 names the allowed method). */
export function adminReplyHeaders(reply: AdminReply): Record<string, string> {
  const headers: Record<string, string> = { "content-type": reply.type ?? "text/plain; charset=UTF-8", "cache-control": "no-cache, max-age=0", "x-content-type-options": "nosniff" };
  if (reply.status === 405) headers["allow"] = "POST";
  return headers;
}

export interface AdminServer {
  /** The bound port (useful with port_value 0). */
  port(): number;
  close(): Promise<void>;
}

/** Serves the admin API on the bootstrap's admin address. */
export async function startAdminServer(deps: AdminDeps, address: { host: string; port: number } | { path: string }): Promise<AdminServer> {
  const endpoints = createAdminEndpoints(deps);
  const log = deps.logger;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const reply = await dispatchAdminRequest(endpoints, req.method ?? "GET", req.url ?? "/", log);
      res.writeHead(reply.status ?? 200, adminReplyHeaders(reply));
      res.end(req.method === "HEAD" ? undefined : reply.body);
    })();
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if ("path" in address) server.listen(address.path, () => resolve());
    else server.listen(address.port, address.host, () => resolve());
  });
  server.on("error", (err) => log.error({ err }, "admin server error"));
  return {
    port: () => ((server.address() as AddressInfo | null)?.port ?? 0),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
