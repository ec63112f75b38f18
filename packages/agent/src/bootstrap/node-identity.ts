import type { JsonObject } from "@bufbuild/protobuf";
import { proxyConfigToJson, WEFT_ISTIO_VERSION, type AgentEnv } from "../env/agent-env.js";

/** `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`, the node id istiod parses (model.ParseServiceNodeWithMetadata). */
export function nodeId(env: AgentEnv): string {
  return `${env.proxyType}~${env.instanceIp}~${env.podName}.${env.podNamespace}~${env.domain}`;
}

/** Deployment pods are `<deployment>-<replicaset hash>-<5 chars>`; others `<owner>-<5 chars>`. */
export function workloadNameFromPod(podName: string): string {
  const deployment = /^(.+)-[a-z0-9]{6,10}-[a-z0-9]{5}$/.exec(podName);
  if (deployment) return deployment[1];
  const simple = /^(.+)-[a-z0-9]{5}$/.exec(podName);
  return simple ? simple[1] : podName;
}

/**
 * The node's cluster: `<canonical service>.<ns>` as Istio ≥1.10 computes it when
 * ProxyConfig.serviceCluster is left at its default: canonical-name label, app label,
 * then the workload name derived from the pod name.
 */
export function serviceCluster(env: AgentEnv): string {
  if (env.proxyConfig.serviceCluster && env.proxyConfig.serviceCluster !== "istio-proxy") return env.proxyConfig.serviceCluster;
  const labels = env.podInfo.labels;
  const name =
    env.canonicalService ||
    labels["service.istio.io/canonical-name"] ||
    labels["app.kubernetes.io/name"] ||
    labels.app ||
    (typeof env.envMetadata.WORKLOAD_NAME === "string" ? env.envMetadata.WORKLOAD_NAME : "") ||
    (env.podName ? workloadNameFromPod(env.podName) : "istio-proxy");
  return `${name}.${env.podNamespace}`;
}

function hostOf(address: string): string {
  const i = address.lastIndexOf(":");
  return i > 0 ? address.slice(0, i) : address;
}

/** Node metadata as pilot-agent writes it: ISTIO_META_* plus what the agent knows itself. */
export function nodeMetadata(env: AgentEnv): JsonObject {
  const m = { ...env.envMetadata } as JsonObject;
  const labels: Record<string, string> = {
    ...(typeof m.LABELS === "object" && m.LABELS !== null && !Array.isArray(m.LABELS) ? (m.LABELS as Record<string, string>) : {}),
    ...env.podInfo.labels,
  };
  if (env.canonicalService && !labels["service.istio.io/canonical-name"]) labels["service.istio.io/canonical-name"] = env.canonicalService;
  if (env.canonicalRevision && !labels["service.istio.io/canonical-revision"]) labels["service.istio.io/canonical-revision"] = env.canonicalRevision;
  const workload = typeof m.WORKLOAD_NAME === "string" && m.WORKLOAD_NAME ? m.WORKLOAD_NAME : workloadNameFromPod(env.podName);

  m.NAME = env.podName;
  m.NAMESPACE = env.podNamespace;
  m.SERVICE_ACCOUNT = env.serviceAccount;
  m.INSTANCE_IPS = env.instanceIps.join(",");
  m.LABELS = labels;
  if (Object.keys(env.podInfo.annotations).length > 0) m.ANNOTATIONS = { ...env.podInfo.annotations };
  m.WORKLOAD_NAME = workload;
  if (!m.OWNER && /-[a-z0-9]{6,10}-[a-z0-9]{5}$/.test(env.podName)) {
    m.OWNER = `kubernetes://apis/apps/v1/namespaces/${env.podNamespace}/deployments/${workload}`;
  }
  m.MESH_ID ??= env.proxyConfig.meshId ?? env.trustDomain;
  m.CLUSTER_ID ??= "Kubernetes";
  m.INTERCEPTION_MODE ??= env.proxyConfig.interceptionMode;
  m.ISTIO_VERSION ??= WEFT_ISTIO_VERSION;
  m.PROXY_CONFIG = proxyConfigToJson(env.proxyConfig) as JsonObject;
  m.PILOT_SAN ??= [hostOf(env.proxyConfig.discoveryAddress)];
  m.PROXY_VIA_AGENT = true;
  m.ENVOY_STATUS_PORT = env.ports.health;
  m.ENVOY_PROMETHEUS_PORT = env.ports.prometheus;
  if (env.hostIp) m.HOST_IP ??= env.hostIp;
  return m;
}
