// Passive health checking (cluster.v3.OutlierDetection): consecutive 5xx,
// consecutive gateway failures and consecutive local-origin failures eject a
// host at once; success rate and failure percentage are judged every
// `interval`. An ejected host carries /failed_outlier_check (out of load
// balancing) for base_ejection_time × its ejection count (capped by
// max_ejection_time), and is returned on the first interval tick after that.
import type { Counter, Gauge, StatsStore } from "../contracts.js";
import { HealthFlag, type Host } from "./host.js";

export interface OutlierConfig {
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionTimeMs: number;
  maxEjectionTimeJitterMs: number;
  maxEjectionPercent: number;
  alwaysEjectOneHost: boolean;
  consecutive5xx: number;
  enforcingConsecutive5xx: number;
  consecutiveGatewayFailure: number;
  enforcingConsecutiveGatewayFailure: number;
  splitExternalLocalOriginErrors: boolean;
  consecutiveLocalOriginFailure: number;
  enforcingConsecutiveLocalOriginFailure: number;
  enforcingSuccessRate: number;
  enforcingLocalOriginSuccessRate: number;
  successRateMinimumHosts: number;
  successRateRequestVolume: number;
  successRateStdevFactor: number;
  failurePercentageThreshold: number;
  enforcingFailurePercentage: number;
  enforcingFailurePercentageLocalOrigin: number;
  failurePercentageMinimumHosts: number;
  failurePercentageRequestVolume: number;
  successfulActiveHealthCheckUnejectHost: boolean;
}

/** What the router learned about one attempt on a host. */
export type LocalOriginEvent = "connect_failed" | "timeout" | "reset" | "success";

type EjectionType =
  | "consecutive_5xx"
  | "consecutive_gateway_failure"
  | "consecutive_local_origin_failure"
  | "success_rate"
  | "local_origin_success_rate"
  | "failure_percentage"
  | "failure_percentage_local_origin";

interface Bucket {
  success: number;
  total: number;
}

interface Monitor {
  consecutive5xx: number;
  consecutiveGateway: number;
  consecutiveLocal: number;
  /** Grows with each ejection, shrinks each interval the host stays in (Envoy's eject-time backoff). */
  ejections: number;
  ejectedAt?: number;
  jitterMs: number;
  external: Bucket;
  local: Bucket;
}

export interface OutlierDetector {
  reportHttp(host: Host, status: number): void;
  reportLocal(host: Host, event: LocalOriginEvent): void;
  /** The cluster's current hosts (after each membership change). */
  setHosts(hosts: readonly Host[]): void;
  /** successful_active_health_check_uneject_host: an active HC success returns an ejected host. */
  onActiveHealthCheckSuccess(host: Host): void;
  /** Runs one interval tick now (tests and the timer). */
  tick(): void;
  close(): void;
}

export interface OutlierDeps {
  stats: StatsStore;
  clusterName: string;
  random: () => number;
  now?: () => number;
  /** Called after hosts were ejected or returned: the cluster rebuilds its load balancer. */
  onChange(): void;
}

export function createOutlierDetector(cfg: OutlierConfig, deps: OutlierDeps): OutlierDetector {
  const now = deps.now ?? Date.now;
  const p = `cluster.${deps.clusterName}.outlier_detection.`;
  const counters = new Map<string, Counter>();
  const counter = (n: string): Counter => {
    let c = counters.get(n);
    if (!c) counters.set(n, (c = deps.stats.counter(p + n)));
    return c;
  };
  const active: Gauge = deps.stats.gauge(p + "ejections_active");
  const monitors = new Map<Host, Monitor>();
  let ejectedCount = 0;

  const monitorOf = (h: Host): Monitor => {
    let m = monitors.get(h);
    if (!m) {
      m = { consecutive5xx: 0, consecutiveGateway: 0, consecutiveLocal: 0, ejections: 0, jitterMs: 0, external: { success: 0, total: 0 }, local: { success: 0, total: 0 } };
      monitors.set(h, m);
    }
    return m;
  };

  const enforcingFor = (t: EjectionType): number => {
    switch (t) {
      case "consecutive_5xx": return cfg.enforcingConsecutive5xx;
      case "consecutive_gateway_failure": return cfg.enforcingConsecutiveGatewayFailure;
      case "consecutive_local_origin_failure": return cfg.enforcingConsecutiveLocalOriginFailure;
      case "success_rate": return cfg.enforcingSuccessRate;
      case "local_origin_success_rate": return cfg.enforcingLocalOriginSuccessRate;
      case "failure_percentage": return cfg.enforcingFailurePercentage;
      case "failure_percentage_local_origin": return cfg.enforcingFailurePercentageLocalOrigin;
    }
  };

  /** Envoy's DetectorImpl::ejectHost: max_ejection_percent first, then the enforcing_* dice. Returns true when ejected. */
  function eject(host: Host, m: Monitor, type: EjectionType): boolean {
    if (host.flags & HealthFlag.FAILED_OUTLIER_CHECK) return false;
    const total = monitors.size;
    const ejectedPercent = total === 0 ? 100 : (100 * ejectedCount) / total;
    if (!(ejectedPercent < cfg.maxEjectionPercent || (cfg.alwaysEjectOneHost && ejectedCount === 0))) {
      counter("ejections_overflow").inc();
      return false;
    }
    counter("ejections_detected_" + type).inc();
    if (deps.random() * 100 >= enforcingFor(type)) return false;
    counter("ejections_enforced_total").inc();
    counter("ejections_enforced_" + type).inc();
    counter("ejections_total").inc();
    if (type === "consecutive_5xx") counter("ejections_consecutive_5xx").inc();
    // The multiplier stops growing once base × it reaches max_ejection_time + base (Envoy).
    const maxEject = Math.max(cfg.maxEjectionTimeMs, cfg.baseEjectionTimeMs);
    if (cfg.baseEjectionTimeMs * m.ejections < maxEject + cfg.baseEjectionTimeMs) m.ejections++;
    m.ejectedAt = now();
    m.jitterMs = cfg.maxEjectionTimeJitterMs > 0 ? Math.floor(deps.random() * cfg.maxEjectionTimeJitterMs) : 0;
    host.flags |= HealthFlag.FAILED_OUTLIER_CHECK;
    ejectedCount++;
    active.set(ejectedCount);
    return true;
  }

  function uneject(host: Host, m: Monitor): void {
    host.flags &= ~HealthFlag.FAILED_OUTLIER_CHECK;
    m.ejectedAt = undefined;
    // Counters start over so the host needs a fresh run of failures to be ejected again.
    m.consecutive5xx = m.consecutiveGateway = m.consecutiveLocal = 0;
    ejectedCount = Math.max(0, ejectedCount - 1);
    active.set(ejectedCount);
  }

  function onConsecutive(host: Host, m: Monitor, type: EjectionType): void {
    if (type === "consecutive_5xx") m.consecutive5xx = 0;
    else if (type === "consecutive_gateway_failure") m.consecutiveGateway = 0;
    else m.consecutiveLocal = 0;
    if (eject(host, m, type)) deps.onChange();
  }

  function putHttp(host: Host, m: Monitor, status: number): void {
    m.external.total++;
    if (status >= 500 && status < 600) {
      if (status === 502 || status === 503 || status === 504) {
        if (++m.consecutiveGateway === cfg.consecutiveGatewayFailure) onConsecutive(host, m, "consecutive_gateway_failure");
      } else m.consecutiveGateway = 0;
      if (++m.consecutive5xx === cfg.consecutive5xx) onConsecutive(host, m, "consecutive_5xx");
    } else {
      m.external.success++;
      m.consecutive5xx = 0;
      m.consecutiveGateway = 0;
    }
  }

  /** Mean − stdev_factor/1000 × stdev over hosts with enough volume (Envoy's success-rate ejection). */
  function successRatePass(pick: (m: Monitor) => Bucket, type: EjectionType): boolean {
    const eligible: Array<[Host, Monitor, number]> = [];
    for (const [h, m] of monitors) {
      const b = pick(m);
      if (b.total >= cfg.successRateRequestVolume) eligible.push([h, m, (100 * b.success) / b.total]);
    }
    if (eligible.length < cfg.successRateMinimumHosts || eligible.length === 0) return false;
    const mean = eligible.reduce((s, e) => s + e[2], 0) / eligible.length;
    const variance = eligible.reduce((s, e) => s + (e[2] - mean) ** 2, 0) / eligible.length;
    const threshold = mean - (cfg.successRateStdevFactor / 1000) * Math.sqrt(variance);
    let changed = false;
    for (const [h, m, rate] of eligible) if (rate < threshold && eject(h, m, type)) changed = true;
    return changed;
  }

  function failurePercentagePass(pick: (m: Monitor) => Bucket, type: EjectionType): boolean {
    const eligible: Array<[Host, Monitor, number]> = [];
    for (const [h, m] of monitors) {
      const b = pick(m);
      if (b.total >= cfg.failurePercentageRequestVolume) eligible.push([h, m, (100 * (b.total - b.success)) / b.total]);
    }
    if (eligible.length < cfg.failurePercentageMinimumHosts || eligible.length === 0) return false;
    let changed = false;
    for (const [h, m, failed] of eligible) if (failed >= cfg.failurePercentageThreshold && eject(h, m, type)) changed = true;
    return changed;
  }

  const detector: OutlierDetector = {
    reportHttp(host, status) {
      putHttp(host, monitorOf(host), status);
    },
    reportLocal(host, event) {
      const m = monitorOf(host);
      if (!cfg.splitExternalLocalOriginErrors) {
        // Not split: local-origin errors count as the HTTP codes Envoy maps them to (503 / 504); successes add nothing.
        if (event !== "success") putHttp(host, m, event === "timeout" ? 504 : 503);
        return;
      }
      m.local.total++;
      if (event === "success") {
        m.local.success++;
        m.consecutiveLocal = 0;
        return;
      }
      if (++m.consecutiveLocal === cfg.consecutiveLocalOriginFailure) onConsecutive(host, m, "consecutive_local_origin_failure");
    },
    setHosts(hosts) {
      const keep = new Set(hosts);
      for (const [h, m] of monitors) {
        if (keep.has(h)) continue;
        if (m.ejectedAt !== undefined) ejectedCount = Math.max(0, ejectedCount - 1);
        monitors.delete(h);
      }
      for (const h of hosts) monitorOf(h);
      active.set(ejectedCount);
    },
    onActiveHealthCheckSuccess(host) {
      if (!cfg.successfulActiveHealthCheckUnejectHost) return;
      const m = monitors.get(host);
      if (m?.ejectedAt !== undefined) {
        uneject(host, m);
        deps.onChange();
      }
    },
    tick() {
      const t = now();
      let changed = false;
      for (const [h, m] of monitors) {
        if (m.ejectedAt !== undefined) {
          const ejectFor = Math.min(cfg.baseEjectionTimeMs * m.ejections, Math.max(cfg.maxEjectionTimeMs, cfg.baseEjectionTimeMs)) + m.jitterMs;
          if (t - m.ejectedAt >= ejectFor) {
            uneject(h, m);
            changed = true;
          }
        } else if (m.ejections > 0) {
          // Envoy lowers the ejection multiplier by one for each interval the host stays in.
          m.ejections--;
        }
      }
      if (successRatePass((m) => m.external, "success_rate")) changed = true;
      if (failurePercentagePass((m) => m.external, "failure_percentage")) changed = true;
      if (cfg.splitExternalLocalOriginErrors) {
        if (successRatePass((m) => m.local, "local_origin_success_rate")) changed = true;
        if (failurePercentagePass((m) => m.local, "failure_percentage_local_origin")) changed = true;
      }
      for (const m of monitors.values()) {
        m.external = { success: 0, total: 0 };
        m.local = { success: 0, total: 0 };
      }
      if (changed) deps.onChange();
    },
    close() {
      clearInterval(timer);
    },
  };
  const timer = setInterval(() => detector.tick(), Math.max(1, cfg.intervalMs));
  timer.unref();
  return detector;
}
