import type { StatsStoreImpl } from "./stats-store.js";

/** envoy.admin.v3.ServerInfo.State, with Envoy's numeric server.state values. */
export type ServerState = "LIVE" | "DRAINING" | "PRE_INITIALIZING" | "INITIALIZING";

export const SERVER_STATE_VALUE: Record<ServerState, number> = {
  LIVE: 0,
  DRAINING: 1,
  PRE_INITIALIZING: 2,
  INITIALIZING: 3,
};

export interface ServerStatsSource {
  state(): ServerState;
  startedAt: number;
  concurrency: number;
  restartEpoch: number;
  /** Envoy reports the build SHA's first 6 hex digits as an integer. */
  versionNumber: number;
  activeConnections(): number;
}

/** Registers Envoy's `server.*` gauges and refreshes them before each render. */
export function installServerStats(store: StatsStoreImpl, source: ServerStatsSource): void {
  const live = store.gauge("server.live", "never_import");
  const state = store.gauge("server.state", "never_import");
  const uptime = store.gauge("server.uptime", "never_import");
  const allocated = store.gauge("server.memory_allocated", "never_import");
  const heap = store.gauge("server.memory_heap_size", "never_import");
  const physical = store.gauge("server.memory_physical_size", "never_import");
  const concurrency = store.gauge("server.concurrency", "never_import");
  const version = store.gauge("server.version", "never_import");
  const epoch = store.gauge("server.hot_restart_epoch", "never_import");
  const connections = store.gauge("server.total_connections", "never_import");
  store.counter("server.watchdog_miss");
  store.counter("server.debug_assertion_failures");
  concurrency.set(source.concurrency);
  version.set(source.versionNumber);
  epoch.set(source.restartEpoch);
  const refresh = () => {
    const s = source.state();
    live.set(s === "LIVE" ? 1 : 0);
    state.set(SERVER_STATE_VALUE[s]);
    uptime.set(Math.floor((Date.now() - source.startedAt) / 1000));
    const mem = process.memoryUsage();
    allocated.set(mem.heapUsed);
    heap.set(mem.heapTotal);
    physical.set(mem.rss);
    connections.set(source.activeConnections());
  };
  refresh();
  store.onBeforeRender(refresh);
}
