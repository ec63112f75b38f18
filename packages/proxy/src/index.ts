
// ---- data path -------------------------------------------------------------
export * from "./contracts.js";
export { createProxyRuntime, type WeftProxyRuntime, type ProxyRuntimeExtras } from "./runtime/create-proxy-runtime.js";
export { createHttpFilterRegistry, ROUTER_TYPE_URL, type HttpFilter, type HttpFilterFactory, type HttpFilterRegistry, type CompileContext } from "./http/http-filter.js";
export { createDefaultHttpFilters } from "./http/filters/default-filters.js";
export type { RequestContext } from "./http/request-context.js";
export type { LocalReply } from "./http/local-reply.js";
export { compileListener } from "./runtime/compile-listener.js";
export { compileCluster } from "./runtime/compile-cluster.js";
export { compileRouteConfig } from "./runtime/compile-route-config.js";
export { compileAssignment } from "./runtime/compile-endpoints.js";
export { originalDstUnavailableReason } from "./native/original-dst.js";

// ---- control surface -------------------------------------------------------
export { startProxy, WEFT_PROXY_VERSION, type RunningProxy, type StartProxyDeps, type RuntimeFactory } from "./app/start-proxy.js";
export { PROXY_NODE_FLAGS, PROXY_RUNTIME_V8_FLAGS, applyRuntimeV8Flags, withNodeFlags, parseNodeFlags } from "./app/node-flags.js";
export { createServerState, type ServerStateControl } from "./app/server-state.js";
export { createLoggingControl, type LoggingControl } from "./app/logging-control.js";
export { parseCommandLine, defaultCommandLineOptions } from "./cli/parse-command-line.js";
export { CommandLineError, type CommandLineOptions, type EnvoyLogLevel } from "./cli/command-line-options.js";
export { validateConfig, type ValidateResult } from "./cli/validate-config.js";
export { checkResources, type ResourceProblem, type ResourcesToCheck } from "./cli/check-resources.js";
export { loadBootstrap, BootstrapError, type LoadedBootstrap, type BootstrapSource } from "./bootstrap/load-bootstrap.js";
export { createStatsStore, DEFAULT_HISTOGRAM_BUCKETS, type StatsStoreImpl } from "./stats/stats-store.js";
export { createTagProducer, StatsConfigError, type TagProducer, type ExtractedName } from "./stats/tag-extractor.js";
export { renderPrometheus, prometheusMetricName } from "./stats/prometheus-format.js";
export { renderStatsText, renderStatsJson } from "./stats/stats-text-format.js";
export { installServerStats, type ServerState } from "./stats/server-stats.js";
export { createAccessLogManager, type AccessLogManager } from "./accesslog/access-logger-factory.js";
export { compileTextFormat, compileJsonFormat, DEFAULT_TEXT_FORMAT } from "./accesslog/format-compiler.js";
export { AccessLogFormatError } from "./accesslog/command-operators.js";
export { startAdminServer, type AdminServer, type AdminDeps } from "./admin/admin-server.js";
export { buildConfigDump, configDumpJson } from "./admin/config-dump.js";
export { createAdsClient, type AdsClient, type AdsClientOptions } from "./xds/ads-client.js";
export { resolveAdsTarget, backoffDelayMs, AdsConfigError, type AdsTarget } from "./xds/ads-target.js";

/** Convenience alias: the AccessLoggerFactory the data path takes. */
export { createAccessLogManager as createAccessLoggerFactory } from "./accesslog/access-logger-factory.js";
