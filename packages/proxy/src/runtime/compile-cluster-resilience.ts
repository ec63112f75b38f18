// The resilience parts of a Cluster: circuit_breakers, outlier_detection and
// health_checks, compiled to plain configs with Envoy's defaults.
import type { Cluster } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import type { OutlierDetection } from "@weft/xds-api/gen/envoy/config/cluster/v3/outlier_detection_pb.js";
import type { HealthCheck, HealthCheck_Payload } from "@weft/xds-api/gen/envoy/config/core/v3/health_check_pb.js";
import { RoutingPriority } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb.js";
import { ResourceRejectedError } from "../contracts.js";
import type { HealthCheckConfig } from "../upstream/health-checker.js";
import type { OutlierConfig } from "../upstream/outlier-detector.js";
import { DEFAULT_THRESHOLDS, type ThresholdsConfig } from "../upstream/resource-manager.js";
import { durationMs } from "./duration.js";

export function compileThresholds(c: Cluster): { default: ThresholdsConfig; high: ThresholdsConfig } {
  const out = { default: { ...DEFAULT_THRESHOLDS }, high: { ...DEFAULT_THRESHOLDS } };
  for (const th of c.circuitBreakers?.thresholds ?? []) {
    const t: ThresholdsConfig = {
      maxConnections: th.maxConnections ?? DEFAULT_THRESHOLDS.maxConnections,
      maxPendingRequests: th.maxPendingRequests ?? DEFAULT_THRESHOLDS.maxPendingRequests,
      maxRequests: th.maxRequests ?? DEFAULT_THRESHOLDS.maxRequests,
      maxRetries: th.maxRetries ?? DEFAULT_THRESHOLDS.maxRetries,
      trackRemaining: th.trackRemaining,
    };
    if (th.retryBudget) {
      t.retryBudget = { budgetPercent: th.retryBudget.budgetPercent?.value ?? 20, minRetryConcurrency: th.retryBudget.minRetryConcurrency ?? 3 };
    }
    if (th.priority === RoutingPriority.HIGH) out.high = t;
    else out.default = t;
  }
  return out;
}

const pct = (v: number | undefined, dflt: number): number => Math.min(100, v ?? dflt);

export function compileOutlier(o: OutlierDetection, name: string): OutlierConfig {
  const base = durationMs(o.baseEjectionTime, 30_000);
  const cfg: OutlierConfig = {
    intervalMs: durationMs(o.interval, 10_000),
    baseEjectionTimeMs: base,
    // max_ejection_time defaults to 300 s, or base_ejection_time when that is larger.
    maxEjectionTimeMs: durationMs(o.maxEjectionTime, Math.max(300_000, base)),
    maxEjectionTimeJitterMs: durationMs(o.maxEjectionTimeJitter, 0),
    maxEjectionPercent: pct(o.maxEjectionPercent, 10),
    alwaysEjectOneHost: o.alwaysEjectOneHost ?? false,
    consecutive5xx: o.consecutive5xx ?? 5,
    enforcingConsecutive5xx: pct(o.enforcingConsecutive5xx, 100),
    consecutiveGatewayFailure: o.consecutiveGatewayFailure ?? 5,
    enforcingConsecutiveGatewayFailure: pct(o.enforcingConsecutiveGatewayFailure, 0),
    splitExternalLocalOriginErrors: o.splitExternalLocalOriginErrors,
    consecutiveLocalOriginFailure: o.consecutiveLocalOriginFailure ?? 5,
    enforcingConsecutiveLocalOriginFailure: pct(o.enforcingConsecutiveLocalOriginFailure, 100),
    enforcingSuccessRate: pct(o.enforcingSuccessRate, 100),
    enforcingLocalOriginSuccessRate: pct(o.enforcingLocalOriginSuccessRate, 100),
    successRateMinimumHosts: o.successRateMinimumHosts ?? 5,
    successRateRequestVolume: o.successRateRequestVolume ?? 100,
    successRateStdevFactor: o.successRateStdevFactor ?? 1900,
    failurePercentageThreshold: pct(o.failurePercentageThreshold, 85),
    enforcingFailurePercentage: pct(o.enforcingFailurePercentage, 0),
    enforcingFailurePercentageLocalOrigin: pct(o.enforcingFailurePercentageLocalOrigin, 0),
    failurePercentageMinimumHosts: o.failurePercentageMinimumHosts ?? 5,
    failurePercentageRequestVolume: o.failurePercentageRequestVolume ?? 50,
    successfulActiveHealthCheckUnejectHost: o.successfulActiveHealthCheckUnejectHost ?? false,
  };
  if (cfg.intervalMs <= 0) throw new ResourceRejectedError(name, "outlier_detection.interval", "must be greater than 0");
  if (o.monitors.length) throw new ResourceRejectedError(name, "outlier_detection.monitors", "custom outlier monitors are not supported");
  return cfg;
}

function payload(p: HealthCheck_Payload | undefined, name: string, field: string): Buffer | undefined {
  const v = p?.payload;
  if (!v?.case) return undefined;
  if (v.case === "binary") return Buffer.from(v.value);
  // `text` is hex-encoded (Envoy: "Hex encoded payload. E.g., '000000FF'").
  if (!/^([0-9a-fA-F]{2})*$/.test(v.value)) throw new ResourceRejectedError(name, field + ".text", `${JSON.stringify(v.value)} is not an even-length hex string`);
  return Buffer.from(v.value, "hex");
}

const METHODS = ["GET", "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];

export function compileHealthChecks(c: Cluster, report: (field: string, detail?: string) => void): HealthCheckConfig[] {
  const name = c.name;
  if (c.healthChecks.length > 1) throw new ResourceRejectedError(name, "health_checks", "only one health check per cluster is supported (as in Envoy)");
  return c.healthChecks.map((hc: HealthCheck, i) => {
    const f = `health_checks[${i}]`;
    if (!hc.timeout) throw new ResourceRejectedError(name, `${f}.timeout`, "is required");
    if (!hc.interval) throw new ResourceRejectedError(name, `${f}.interval`, "is required");
    if (hc.unhealthyThreshold === undefined) throw new ResourceRejectedError(name, `${f}.unhealthy_threshold`, "is required");
    if (hc.healthyThreshold === undefined) throw new ResourceRejectedError(name, `${f}.healthy_threshold`, "is required");
    const intervalMs = durationMs(hc.interval, 0);
    const timeoutMs = durationMs(hc.timeout, 0);
    if (intervalMs <= 0) throw new ResourceRejectedError(name, `${f}.interval`, "must be greater than 0");
    if (timeoutMs <= 0) throw new ResourceRejectedError(name, `${f}.timeout`, "must be greater than 0");
    const noTraffic = durationMs(hc.noTrafficInterval, 60_000);
    const unhealthy = durationMs(hc.unhealthyInterval, intervalMs);
    let probe: HealthCheckConfig["probe"];
    const k = hc.healthChecker;
    if (k.case === "httpHealthCheck") {
      const h = k.value;
      if (!h.path) throw new ResourceRejectedError(name, `${f}.http_health_check.path`, "must not be empty");
      if (h.codecClientType !== 0) report("cluster.health_checks.http_health_check.codec_client_type", "only HTTP/1.1 health checks are implemented");
      if (h.send || h.receive.length) report("cluster.health_checks.http_health_check.receive", "not implemented; only the status is checked");
      const ranges = (rs: typeof h.expectedStatuses, fld: string): Array<[number, number]> =>
        rs.map((r, j) => {
          const a = Number(r.start);
          const b = Number(r.end);
          if (a < 100 || b > 600 || a >= b) throw new ResourceRejectedError(name, `${f}.http_health_check.${fld}[${j}]`, `[${a}, ${b}) is not a valid status range within [100, 600)`);
          return [a, b];
        });
      const headers: Record<string, string> = {};
      for (const o of h.requestHeadersToAdd) if (o.header) headers[o.header.key.toLowerCase()] = o.header.value;
      probe = {
        kind: "http",
        host: h.host || name,
        path: h.path,
        method: METHODS[h.method] ?? "GET",
        expectedStatuses: h.expectedStatuses.length ? ranges(h.expectedStatuses, "expected_statuses") : [[200, 201]],
        retriableStatuses: ranges(h.retriableStatuses, "retriable_statuses"),
        requestHeaders: headers,
        requestHeadersToRemove: h.requestHeadersToRemove.map((x) => x.toLowerCase()),
      };
    } else if (k.case === "tcpHealthCheck") {
      probe = {
        kind: "tcp",
        send: payload(k.value.send, name, `${f}.tcp_health_check.send`),
        receive: k.value.receive.map((r, j) => payload(r, name, `${f}.tcp_health_check.receive[${j}]`)).filter((b): b is Buffer => !!b),
      };
    } else {
      throw new ResourceRejectedError(name, `${f}.health_checker`, `${String(k.case)} health checks are not supported (http_health_check and tcp_health_check are)`);
    }
    if (hc.eventLogPath || hc.eventLogger.length) report("cluster.health_checks.event_logger", "not implemented");
    if (hc.tlsOptions || hc.transportSocketMatchCriteria) report("cluster.health_checks.tls_options", "not implemented; checks are plaintext");
    return {
      timeoutMs,
      intervalMs,
      initialJitterMs: durationMs(hc.initialJitter, 0),
      intervalJitterMs: durationMs(hc.intervalJitter, 0),
      intervalJitterPercent: hc.intervalJitterPercent,
      unhealthyThreshold: Math.max(1, hc.unhealthyThreshold),
      healthyThreshold: Math.max(1, hc.healthyThreshold),
      noTrafficIntervalMs: noTraffic,
      noTrafficHealthyIntervalMs: durationMs(hc.noTrafficHealthyInterval, noTraffic),
      unhealthyIntervalMs: unhealthy,
      unhealthyEdgeIntervalMs: durationMs(hc.unhealthyEdgeInterval, unhealthy),
      healthyEdgeIntervalMs: durationMs(hc.healthyEdgeInterval, intervalMs),
      altPort: hc.altPort,
      reuseConnection: hc.reuseConnection ?? true,
      probe,
    };
  });
}
