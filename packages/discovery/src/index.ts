export {};

// --- server half: ADS server, cache, push, debug, metrics, composition root ---
export { createDiscoveryApp, type DiscoveryApp, type DiscoveryAppOptions, type DiscoveryAddresses, type PushEvent } from "./app/discovery-app.js";
export { parseListenAddress, type ListenAddress } from "./app/listen-address.js";
export { createAdsServer, type AdsServer, type AdsServerOptions, type PushRequest, type PushSummary } from "./server/ads-server.js";
export type { AdsConnection, AdsMode } from "./server/ads-connection.js";
export { createConfigCache, serviceOfCluster, versionOf, type ConfigCache, type ConfigCacheOptions } from "./cache/config-cache.js";
export { createDebouncer, mergeChanges, type Debouncer, type DebouncedChange, type DebouncerOptions } from "./push/debouncer.js";
export { createDebugHandler, synczJson, type DebugHandlerOptions } from "./debug/debug-handler.js";
export { buildConfigDump } from "./debug/config-dump.js";
export { createMetricsRegistry, type MetricsRegistry, type Counter, type Gauge, type Histogram } from "./metrics/metrics-registry.js";
export { createPilotMetrics, type PilotMetrics } from "./metrics/pilot-metrics.js";
