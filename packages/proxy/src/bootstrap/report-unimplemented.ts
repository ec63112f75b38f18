import type { Bootstrap } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb";

/**
 * Bootstrap fields we accept but don't act on, reported once each (Envoy
 * would act on them; saying so beats silently diverging).
 */
export function reportUnimplementedBootstrapFields(b: Bootstrap, report: (fieldPath: string, detail?: string) => void): void {
  if (b.tracing?.http) report("tracing.http", `${b.tracing.http.name}: spans are not reported; B3 headers are still propagated`);
  if (b.statsSinks.length) report("stats_sinks", "stats are served on the admin /stats endpoints only");
  // overload_manager: the downstream connections monitor is enforced; listener/connection-limits.ts reports the rest.
  if (b.watchdog || b.watchdogs) report("watchdogs");
  if (b.hdsConfig) report("hds_config");
  if (b.clusterManager?.loadStatsConfig) report("cluster_manager.load_stats_config");
  if (b.clusterManager?.outlierDetection) report("cluster_manager.outlier_detection", "the outlier event log");
  if (b.layeredRuntime?.layers.some((l) => l.layerSpecifier.case === "rtdsLayer" || l.layerSpecifier.case === "diskLayer")) {
    report("layered_runtime.layers", "only static_layer values are read (shown on /runtime); disk and RTDS layers are ignored");
  }
  if (b.admin?.profilePath) report("admin.profile_path", "no CPU/heap profiler");
  if (b.admin?.accessLogPath && b.admin.accessLogPath !== "/dev/null") report("admin.access_log_path", "admin requests are not logged");
  if (b.admin?.accessLog.length) report("admin.access_log", "admin requests are not logged");
  if (b.staticResources?.secrets.length) report("static_resources.secrets", "static TLS secrets");
  if (b.dynamicResources?.ldsConfig && b.dynamicResources.ldsConfig.configSourceSpecifier.case !== "ads") {
    report("dynamic_resources.lds_config", "only ADS is implemented for LDS");
  }
  if (b.dynamicResources?.cdsConfig && b.dynamicResources.cdsConfig.configSourceSpecifier.case !== "ads") {
    report("dynamic_resources.cds_config", "only ADS is implemented for CDS");
  }
}
