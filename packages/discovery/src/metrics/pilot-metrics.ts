// The control-plane metrics, with istiod's names and labels so Istio's
// dashboards and alerts work unchanged (pilot/pkg/xds/monitoring.go):
// pilot_xds_pushes{type}, pilot_proxy_convergence_time, pilot_total_xds_rejects{type},
// pilot_xds{version}, pilot_xds_push_time{type}.
import { TYPE_SHORT_NAME } from "@weft/xds-api";
import { createMetricsRegistry, type Counter, type Gauge, type Histogram, type MetricsRegistry } from "./metrics-registry.js";

export interface PilotMetrics {
  readonly registry: MetricsRegistry;
  /** The `version` label of `pilot_xds` (discovery's own version). */
  readonly version: string;
  readonly pushes: Counter;
  readonly pushErrors: Counter;
  readonly rejects: Counter;
  readonly connected: Gauge;
  readonly convergence: Histogram;
  readonly pushTime: Histogram;
  readonly pushTriggers: Counter;
  readonly configErrors: Gauge;
  /** Istio's `type` label for a type URL: `cds`, `eds`, `lds`, `rds`, or the message name. */
  typeLabel(typeUrl: string): string;
  render(): string;
}

// Istio's buckets for both histograms (seconds).
const CONVERGENCE_BUCKETS = [0.1, 0.5, 1, 3, 5, 10, 20, 30];
const PUSH_TIME_BUCKETS = [0.01, 0.1, 0.5, 1, 3, 5, 10, 20, 30];

export function createPilotMetrics(options: { version?: string } = {}): PilotMetrics {
  const registry = createMetricsRegistry();
  const version = options.version ?? "unknown";
  const startSeconds = Math.floor(Date.now() / 1000 - process.uptime());
  const pilot: PilotMetrics = {
    registry,
    version,
    pushes: registry.counter("pilot_xds_pushes", "Pilot build and send errors for lds, rds, cds and eds."),
    pushErrors: registry.counter("pilot_xds_send_errors", "Errors sending xDS responses to a proxy (stream closed or write failed)."),
    rejects: registry.counter("pilot_total_xds_rejects", "Total number of XDS responses from pilot rejected by proxy."),
    connected: registry.gauge("pilot_xds", "Number of endpoints connected to this pilot using XDS."),
    convergence: registry.histogram("pilot_proxy_convergence_time", "Delay in seconds between config change and a proxy receiving all required configuration.", CONVERGENCE_BUCKETS),
    pushTime: registry.histogram("pilot_xds_push_time", "Total time in seconds Pilot takes to push lds, rds, cds and eds.", PUSH_TIME_BUCKETS),
    pushTriggers: registry.counter("pilot_push_triggers", "Total number of times a push was triggered, labeled by reason for the push."),
    configErrors: registry.gauge("pilot_total_config_errors", "Number of config objects rejected by discovery's sources (Weft extension)."),
    typeLabel(typeUrl) {
      const short = TYPE_SHORT_NAME[typeUrl];
      return short ? short.toLowerCase() : typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
    },
    render: () => registry.render(),
  };
  pilot.connected.set(0, { version });
  registry.collected("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", () => process.memoryUsage.rss());
  registry.collected("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter", () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  });
  registry.collected("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge", () => startSeconds);
  registry.collected("nodejs_heap_size_used_bytes", "Process heap size used from Node.js in bytes.", "gauge", () => process.memoryUsage().heapUsed);
  registry.collected("nodejs_heap_size_total_bytes", "Process heap size from Node.js in bytes.", "gauge", () => process.memoryUsage().heapTotal);
  registry.collected("nodejs_external_memory_bytes", "Node.js external memory size in bytes (Buffers, HTTP/2 sessions).", "gauge", () => process.memoryUsage().external);
  return pilot;
}
