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

// --- config half: source, model, push context, generators ---
export type * from "./contracts.js";
export { createDirectorySource, type DirectorySourceOptions } from "./source/directory-source.js";
export { parseDurationMs } from "./source/duration.js";
export { KNOWN_KINDS, checkKind } from "./source/kinds.js";
export { validateDocument } from "./source/validate-object.js";
export { parseDocuments } from "./source/parse-documents.js";
export { buildRegistry } from "./model/build-registry.js";
export type { MeshService, MeshEndpoint, ServicePort, Registry, Workload } from "./model/types.js";
export { resolveProtocol, type Protocol } from "./model/protocol.js";
export { createPushContextBuilder, MeshPushContext, type PushContextOptions } from "./push-context/push-context.js";
export { parseProxy } from "./push-context/parse-proxy.js";
export { createXdsGenerators, createXdsGenerator } from "./generators/create-generators.js";

// --- mesh CA (issue 7): certificate authority, IstioCertificateService server, authenticators ---
export { createCertificateAuthority, type CertificateAuthority, type CertificateAuthorityOptions, type IssueRequest } from "./ca/certificate-authority.js";
export { createCaServer, servingHosts, DEFAULT_CA_ADDR, type CaServer, type CaServerOptions } from "./ca/ca-server.js";
export { createCaService, type CaServiceOptions } from "./ca/ca-service.js";
export { AuthenticationError, bearerToken, type Authenticator, type AuthenticatedCaller } from "./ca/authenticator.js";
export { createLocalAuthenticator, parseWorkloadCredentials, MIN_TOKEN_LENGTH, type LocalAuthenticatorOptions } from "./ca/local-authenticator.js";
export { createKubernetesAuthenticator, serviceAccountOf, ISTIO_CA_AUDIENCE, type KubernetesAuthenticatorOptions } from "./ca/kubernetes-authenticator.js";
export { CaError, type CaErrorCode } from "./ca/ca-error.js";
export { spiffeId, type WorkloadIdentity } from "./ca/spiffe-id.js";
export { CA_FILES } from "./ca/ca-material.js";
export type { CaKeyAlgorithm } from "./ca/pem.js";
export { addWorkloadCredential, removeWorkloadCredential } from "./ca/workload-credentials.js";
export { startMeshCa, WORKLOADS_FILE, type MeshCa, type MeshCaOptions } from "./ca/start-mesh-ca.js";
