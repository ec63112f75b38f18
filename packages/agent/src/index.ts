export { AgentError, type AgentErrorCode } from "./errors.js";
export { loadAgentEnv, WEFT_ISTIO_VERSION, type AgentEnv, type AgentPorts, type ProxyType, type LoadEnvOptions } from "./env/agent-env.js";
export { parseProxyConfig, DEFAULT_PROXY_CONFIG, type ProxyConfig } from "./env/proxy-config.js";
export { parseDownwardApi, readPodInfo, type PodInfo } from "./env/pod-info.js";
export { parseDuration } from "./env/duration.js";
export { buildBootstrap, bootstrapToJson } from "./bootstrap/bootstrap.js";
export { nodeId, serviceCluster, nodeMetadata } from "./bootstrap/node-identity.js";
