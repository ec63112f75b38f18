// What one HTTP connection manager needs at request time, looked up at compile time.
import type { Logger } from "pino";
import type { Counter, Gauge, Histogram, StatsStore } from "../contracts.js";
import type { CompiledRouteConfig } from "../runtime/compile-route-config.js";
import type { Cluster } from "../upstream/cluster.js";
import type { HcmConfig } from "./compile-hcm.js";
import { createHardeningStats, type HardeningStats } from "./hardening-stats.js";

export interface HcmStats {
  rqTotal: Counter;
  rqXx: Counter[]; // index 1..5
  rqCompleted: Counter;
  rqActive: Gauge;
  rqTime: Histogram;
  rqTimeout: Counter;
  rqIdleTimeout: Counter;
  rqMaxDurationReached: Counter;
  rqHttp1: Counter;
  rqHttp2: Counter;
  cxTotal: Counter;
  cxActive: Gauge;
  cxHttp1Total: Counter;
  cxHttp2Total: Counter;
  cxDestroyRemote: Counter;
  rqWsOnNonWsRoute: Counter;
  noRoute: Counter;
  noCluster: Counter;
  /** Refused input and floods. */
  guard: HardeningStats;
}

export function createHcmStats(store: StatsStore, prefix: string): HcmStats {
  const p = `http.${prefix}.`;
  return {
    rqTotal: store.counter(p + "downstream_rq_total"),
    rqXx: [0, 1, 2, 3, 4, 5].map((i) => store.counter(`${p}downstream_rq_${i}xx`)),
    rqCompleted: store.counter(p + "downstream_rq_completed"),
    rqActive: store.gauge(p + "downstream_rq_active"),
    rqTime: store.histogram(p + "downstream_rq_time", "milliseconds"),
    rqTimeout: store.counter(p + "downstream_rq_timeout"),
    rqIdleTimeout: store.counter(p + "downstream_rq_idle_timeout"),
    rqMaxDurationReached: store.counter(p + "downstream_rq_max_duration_reached"),
    rqHttp1: store.counter(p + "downstream_rq_http1_total"),
    rqHttp2: store.counter(p + "downstream_rq_http2_total"),
    cxTotal: store.counter(p + "downstream_cx_total"),
    cxActive: store.gauge(p + "downstream_cx_active"),
    cxHttp1Total: store.counter(p + "downstream_cx_http1_total"),
    cxHttp2Total: store.counter(p + "downstream_cx_http2_total"),
    cxDestroyRemote: store.counter(p + "downstream_cx_destroy_remote"),
    rqWsOnNonWsRoute: store.counter(p + "downstream_rq_ws_on_non_ws_route"),
    noRoute: store.counter(p + "no_route"),
    noCluster: store.counter(p + "no_cluster"),
    guard: createHardeningStats(store, prefix),
  };
}

export interface HcmRuntime {
  config: HcmConfig;
  stats: HcmStats;
  /** The current route table (RDS or inline); undefined until RDS delivers it. */
  routes(): CompiledRouteConfig | undefined;
  cluster(name: string): Cluster | undefined;
  logger: Logger;
  random: () => number;
  /** Set while draining: HTTP/1.1 responses carry `connection: close`. */
  draining(): boolean;
}
