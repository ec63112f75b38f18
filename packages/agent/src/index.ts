// @weft/agent: the sidecar's pilot-agent. The `weft-agent` binary is the main product;
// these exports let weftctl's local mesh and tests embed the pieces.
export { AgentError, type AgentErrorCode } from "./errors.js";
export { loadAgentEnv, defaultCaAddr, WEFT_ISTIO_VERSION, type AgentEnv, type AgentPorts, type ProxyType, type LoadEnvOptions } from "./env/agent-env.js";
export { parseProxyConfig, DEFAULT_PROXY_CONFIG, type ProxyConfig } from "./env/proxy-config.js";
export { parseDownwardApi, readPodInfo, type PodInfo } from "./env/pod-info.js";
export { parseDuration } from "./env/duration.js";
export { buildBootstrap, bootstrapToJson } from "./bootstrap/bootstrap.js";
export { nodeId, serviceCluster, nodeMetadata } from "./bootstrap/node-identity.js";
export { validateBootstrap } from "./bootstrap/validate-bootstrap.js";
export { renderBootstrap } from "./bootstrap/render-bootstrap.js";
export { renderBootstrapInChild } from "./bootstrap/render-in-child.js";
export { startAgent, type Agent, type AgentOptions } from "./agent/agent.js";
export { createXdsProxy, type XdsProxy, type XdsProxyStatus } from "./xds-proxy/xds-proxy.js";
export { createPlaintextDialer, type UpstreamDialer } from "./xds-proxy/upstream.js";
export { createSdsServer, WORKLOAD_SECRET, ROOT_SECRET, type SdsServer } from "./sds/sds-server.js";
export { createFileCertificateProvider, type CertificateProvider, type WorkloadCertificate } from "./sds/certificate-provider.js";
export { resolveProxyBinary, type ProxyCommand } from "./supervisor/resolve-proxy-binary.js";
export { parseCaptureArgs, type CaptureOptions } from "./iptables/capture-options.js";
export { buildCaptureRules, renderSave, type CaptureRules } from "./iptables/capture-rules.js";
export { main } from "./cli/main.js";

// --- mesh CA client (issue 7): workload key + CSR, CreateCertificate over TLS, rotating CertificateProvider ---
export { createCaClient, caUrl, type CaClient, type CaClientOptions } from "./ca-client/ca-client.js";
export { createCaCertificateProvider, type CaCertificateProvider, type CaCertificateProviderOptions, type Timers } from "./ca-client/ca-certificate-provider.js";
export { createWorkloadCsr, type WorkloadKeyAndCsr } from "./ca-client/workload-csr.js";
export { rotationDelayMs, type RotationParams } from "./ca-client/rotation-delay.js";
export { loadCaProviderSettings, createCaCertificateProviderFromSettings, DEFAULT_CA_ROOT_CERT, DEFAULT_CA_TOKEN_FILE, type CaProviderSettings } from "./ca-client/ca-provider-env.js";
export { createTlsDialer, type TlsDialerOptions } from "./ca-client/xds-tls-dialer.js";
export { createAgentCredentials, type AgentCredentials } from "./ca-client/agent-credentials.js";
export { writeOutputCerts, OUTPUT_FILES } from "./ca-client/output-certs.js";
