import { dirname } from "node:path";
import type { LocalPlan, LocalPod } from "./plan.js";

/** PATH for children: this Node first, so `#!/usr/bin/env node` binaries run with it even as uid 1337. */
export function childPath(): string {
  return [dirname(process.execPath), process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin"].join(":");
}

/** The environment Istio's injector gives istio-proxy, as the agent reads it. */
export function sidecarEnv(pod: LocalPod, agentDir: string, podInfoDir: string, discoveryAddress: string): Record<string, string> {
  return {
    PATH: childPath(),
    HOME: agentDir,
    POD_NAME: pod.name,
    POD_NAMESPACE: pod.namespace,
    INSTANCE_IP: pod.ip,
    SERVICE_ACCOUNT: pod.serviceAccount,
    HOST_IP: pod.ip,
    CANONICAL_SERVICE: pod.labels["service.istio.io/canonical-name"] ?? pod.labels.app ?? pod.workload,
    CANONICAL_REVISION: pod.labels["service.istio.io/canonical-revision"] ?? pod.labels.version ?? "latest",
    ISTIO_META_CLUSTER_ID: "Kubernetes",
    ISTIO_META_MESH_ID: "cluster.local",
    ISTIO_META_WORKLOAD_NAME: pod.workload,
    ISTIO_META_APP_CONTAINERS: pod.workload,
    ISTIO_META_INTERCEPTION_MODE: "REDIRECT",
    TRUST_DOMAIN: "cluster.local",
    WEFT_AGENT_DIR: agentDir,
    WEFT_POD_INFO_DIR: podInfoDir,
    WEFT_DISCOVERY_ADDRESS: discoveryAddress,
  };
}

/**
 * The environment of an app run locally: the pod's identity and, for the
 * samples, where to listen. Apps keep Kubernetes defaults for their upstreams
 * (`http://details:9080`), which resolve to service VIPs inside the pod.
 */
export function appEnv(plan: LocalPlan, pod: LocalPod, samplesDir: string | undefined): Record<string, string> {
  const env: Record<string, string> = {
    PATH: childPath(),
    HOME: "/tmp",
    POD_NAME: pod.name,
    POD_NAMESPACE: pod.namespace,
    POD_IP: pod.ip,
    HOSTNAME: pod.name,
    SERVICE_ACCOUNT: pod.serviceAccount,
  };
  if (pod.containerPorts[0]) env.PORT = String(pod.containerPorts[0]);
  if (samplesDir) env.WEFT_SAMPLES = samplesDir;
  if (plan.mode === "explicit") env.BIND_ADDRESS = pod.ip;
  return env;
}

/** Replaces `${VAR}` in a command's words from the environment it will run with. */
export function expandCommand(words: readonly string[], env: Record<string, string>): string[] {
  return words.map((w) => w.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => env[name] ?? ""));
}
