// Active health checking (core.v3.HealthCheck) of one cluster: one session
// per host, each on its own timer. A host added to a checked cluster starts
// with /failed_active_hc (and /pending_active_hc, which keeps it out of load
// balancing altogether, only with ignore_new_hosts_until_first_hc, as Envoy);
// its first success makes it healthy at once, later it takes
// healthy_threshold successes. A response
// outside expected_statuses (and retriable_statuses) marks it unhealthy at
// once; network failures and timeouts count towards unhealthy_threshold.
import * as http from "node:http";
import type { Counter, Gauge, StatsStore } from "../contracts.js";
import { HealthFlag, type Host } from "./host.js";
import { runHttpCheck, runTcpCheck, type CheckOutcome, type HttpCheckSpec, type TcpCheckSpec } from "./health-check-probes.js";

export interface HealthCheckConfig {
  timeoutMs: number;
  intervalMs: number;
  initialJitterMs: number;
  intervalJitterMs: number;
  intervalJitterPercent: number;
  unhealthyThreshold: number;
  healthyThreshold: number;
  noTrafficIntervalMs: number;
  noTrafficHealthyIntervalMs: number;
  unhealthyIntervalMs: number;
  unhealthyEdgeIntervalMs: number;
  healthyEdgeIntervalMs: number;
  altPort?: number;
  reuseConnection: boolean;
  probe: HttpCheckSpec | TcpCheckSpec;
}

export interface HealthChecker {
  setHosts(hosts: readonly Host[]): void;
  /** Resolves once every current host has had its first check (cluster warming). */
  firstRound(): Promise<void>;
  stop(): void;
}

export interface HealthCheckerDeps {
  stats: StatsStore;
  clusterName: string;
  random: () => number;
  /** common_lb_config.ignore_new_hosts_until_first_hc: new hosts also carry /pending_active_hc. */
  markPending: boolean;
  /** Envoy uses no_traffic_interval until the cluster has made an upstream connection. */
  hadTraffic(): boolean;
  /** Called when a host changed health: the cluster rebuilds its load balancer. */
  onChange(): void;
  onSuccess?(host: Host): void;
}

interface HcStats {
  attempt: Counter;
  success: Counter;
  failure: Counter;
  networkFailure: Counter;
  healthy: Gauge;
}

type Transition = "unchanged" | "changed" | "pending";

export function createHealthChecker(configs: HealthCheckConfig[], deps: HealthCheckerDeps): HealthChecker {
  const p = `cluster.${deps.clusterName}.health_check.`;
  const stats: HcStats = {
    attempt: deps.stats.counter(p + "attempt"),
    success: deps.stats.counter(p + "success"),
    failure: deps.stats.counter(p + "failure"),
    networkFailure: deps.stats.counter(p + "network_failure"),
    healthy: deps.stats.gauge(p + "healthy"),
  };
  deps.stats.counter(p + "passive_failure");
  deps.stats.counter(p + "verify_cluster");
  const sessions = new Map<Host, Array<{ stop(): void; checked: Promise<void> }>>();
  let stopped = false;

  const countHealthy = (): void => {
    let n = 0;
    for (const h of sessions.keys()) if (!(h.flags & HealthFlag.FAILED_ACTIVE_HC)) n++;
    stats.healthy.set(n);
  };

  function startSession(host: Host, cfg: HealthCheckConfig): { stop(): void; checked: Promise<void> } {
    let timer: NodeJS.Timeout | undefined;
    let cancel: (() => void) | undefined;
    let first = true;
    let numHealthy = 0;
    let numUnhealthy = 0;
    let done = false;
    // reuse_connection (default true): one keep-alive connection per session.
    const agent = cfg.probe.kind === "http" && cfg.reuseConnection ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
    let markChecked!: () => void;
    const checked = new Promise<void>((r) => (markChecked = r));

    const jittered = (base: number): number => {
      let ms = base;
      if (cfg.intervalJitterPercent > 0) ms += Math.floor(deps.random() * ((cfg.intervalJitterPercent * base) / 100));
      if (cfg.intervalJitterMs > 0) ms += Math.floor(deps.random() * cfg.intervalJitterMs);
      return ms;
    };
    const nextInterval = (t: Transition): number => {
      const unhealthy = (host.flags & HealthFlag.FAILED_ACTIVE_HC) !== 0;
      if (!deps.hadTraffic()) return jittered(unhealthy ? cfg.noTrafficIntervalMs : cfg.noTrafficHealthyIntervalMs);
      if (unhealthy) return jittered(t === "pending" ? cfg.unhealthyEdgeIntervalMs : cfg.unhealthyIntervalMs);
      return jittered(t === "pending" ? cfg.healthyEdgeIntervalMs : cfg.intervalMs);
    };

    const onSuccess = (): Transition => {
      numUnhealthy = 0;
      let t: Transition = "unchanged";
      if (host.flags & HealthFlag.FAILED_ACTIVE_HC) {
        // Envoy: the very first result moves a new host to healthy at once (faster startup).
        if (first || ++numHealthy === cfg.healthyThreshold) {
          host.flags &= ~HealthFlag.FAILED_ACTIVE_HC;
          t = "changed";
        } else t = "pending";
      }
      host.flags &= ~HealthFlag.PENDING_ACTIVE_HC;
      stats.success.inc();
      deps.onSuccess?.(host);
      return t;
    };
    const onFailure = (network: boolean, immediate: boolean): Transition => {
      numHealthy = 0;
      let t: Transition = "unchanged";
      if (!(host.flags & HealthFlag.FAILED_ACTIVE_HC)) {
        if (immediate || ++numUnhealthy === cfg.unhealthyThreshold) {
          host.flags |= HealthFlag.FAILED_ACTIVE_HC;
          t = "changed";
        } else t = "pending";
      }
      // The first failure settles a pending host (it stays failed): it is no longer "pending".
      if (host.flags & HealthFlag.PENDING_ACTIVE_HC) {
        host.flags &= ~HealthFlag.PENDING_ACTIVE_HC;
        t = "changed";
      }
      (network ? stats.networkFailure : stats.failure).inc();
      return t;
    };

    const run = (): void => {
      if (done) return;
      stats.attempt.inc();
      const target = { ip: host.ip, port: cfg.altPort ?? host.port, pipe: host.pipe };
      const finish = (o: CheckOutcome): void => {
        cancel = undefined;
        if (done) return;
        const t = o.ok ? onSuccess() : onFailure(o.network, o.immediate);
        first = false;
        markChecked();
        if (t === "changed") {
          countHealthy();
          deps.onChange();
        }
        timer = setTimeout(run, nextInterval(t));
        timer.unref();
      };
      cancel = cfg.probe.kind === "http" ? runHttpCheck(cfg.probe, target, cfg.timeoutMs, agent, finish) : runTcpCheck(cfg.probe, target, cfg.timeoutMs, finish);
    };
    timer = setTimeout(run, cfg.initialJitterMs > 0 ? Math.floor(deps.random() * cfg.initialJitterMs) : 0);
    timer.unref();
    return {
      checked,
      stop() {
        done = true;
        clearTimeout(timer);
        cancel?.();
        if (agent) agent.destroy();
        markChecked();
      },
    };
  }

  return {
    setHosts(hosts) {
      if (stopped) return;
      const keep = new Set(hosts);
      for (const [h, list] of sessions) {
        if (keep.has(h)) continue;
        for (const s of list) s.stop();
        sessions.delete(h);
      }
      for (const h of hosts) {
        if (sessions.has(h)) continue;
        h.flags |= HealthFlag.FAILED_ACTIVE_HC | (deps.markPending ? HealthFlag.PENDING_ACTIVE_HC : 0);
        sessions.set(h, configs.map((c) => startSession(h, c)));
      }
      countHealthy();
    },
    async firstRound() {
      await Promise.all([...sessions.values()].flat().map((s) => s.checked));
    },
    stop() {
      stopped = true;
      for (const list of sessions.values()) for (const s of list) s.stop();
      sessions.clear();
    },
  };
}
