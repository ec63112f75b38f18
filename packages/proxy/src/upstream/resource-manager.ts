// Circuit breakers of one cluster at one routing priority
// (cluster.v3.CircuitBreakers.Thresholds): open connections, pending
// requests, active requests and active retries, each with Envoy's
// `circuit_breakers.<priority>.<x>_open` gauge (1 while at capacity) and, with
// track_remaining, `remaining_<x>`.
import type { Gauge, StatsStore } from "../contracts.js";

export interface ThresholdsConfig {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
  /** retry_budget: when set, max_retries is ignored (Envoy). */
  retryBudget?: { budgetPercent: number; minRetryConcurrency: number };
  trackRemaining: boolean;
}

/** Envoy's defaults when a priority has no Thresholds entry. */
export const DEFAULT_THRESHOLDS: ThresholdsConfig = {
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
  trackRemaining: false,
};

export interface Resource {
  readonly count: number;
  max(): number;
  canCreate(): boolean;
  inc(): void;
  dec(): void;
}

export interface ResourceManager {
  readonly connections: Resource;
  readonly pendingRequests: Resource;
  readonly requests: Resource;
  readonly retries: Resource;
  readonly config: ThresholdsConfig;
}

export function createResourceManager(store: StatsStore, clusterName: string, priority: "default" | "high", config: ThresholdsConfig): ResourceManager {
  const p = `cluster.${clusterName}.circuit_breakers.${priority}.`;
  const make = (openName: string, remainingName: string, max: () => number): Resource => {
    const open: Gauge = store.gauge(p + openName, "never_import");
    const remaining: Gauge | undefined = config.trackRemaining ? store.gauge(p + remainingName, "never_import") : undefined;
    let count = 0;
    const update = (): void => {
      const m = max();
      open.set(count >= m ? 1 : 0);
      remaining?.set(Math.max(0, m - count));
    };
    update();
    return {
      get count() {
        return count;
      },
      max,
      canCreate: () => count < max(),
      inc() {
        count++;
        update();
      },
      dec() {
        if (count > 0) count--;
        update();
      },
    };
  };
  const connections = make("cx_open", "remaining_cx", () => config.maxConnections);
  const pendingRequests = make("rq_pending_open", "remaining_pending", () => config.maxPendingRequests);
  const requests = make("rq_open", "remaining_rq", () => config.maxRequests);
  const budget = config.retryBudget;
  // retry_budget: concurrent retries may be budget_percent of active + pending requests, never fewer than min_retry_concurrency.
  const retries = make("rq_retry_open", "remaining_retries", budget
    ? () => Math.max(budget.minRetryConcurrency, Math.floor(((requests.count + pendingRequests.count) * budget.budgetPercent) / 100))
    : () => config.maxRetries);
  return { connections, pendingRequests, requests, retries, config };
}

/** /clusters lines: `default_priority::max_connections` … `high_priority::max_retries`, as Envoy prints them. */
export function circuitBreakerLines(t: { default: ThresholdsConfig; high: ThresholdsConfig }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [prio, c] of [["default_priority", t.default], ["high_priority", t.high]] as const) {
    out[`${prio}::max_connections`] = c.maxConnections;
    out[`${prio}::max_pending_requests`] = c.maxPendingRequests;
    out[`${prio}::max_requests`] = c.maxRequests;
    out[`${prio}::max_retries`] = c.maxRetries;
  }
  return out;
}
