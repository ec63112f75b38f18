import { dirname } from "node:path";
import { LocalError } from "./errors.js";
import type { LocalPlan, LocalPod, NetworkMode } from "./plan.js";

/** PATH for children: this Node first, so `#!/usr/bin/env node` binaries run with it even as uid 1337. */
export function childPath(): string {
  return [dirname(process.execPath), process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin"].join(":");
}

/** The environment Istio's injector gives istio-proxy, as the agent reads it. */
export function sidecarEnv(pod: LocalPod, agentDir: string, podInfoDir: string, discoveryAddress: string, mode: NetworkMode = "transparent"): Record<string, string> {
  return {
    ...(mode === "explicit" ? explicitSidecarEnv(pod) : { ISTIO_META_INTERCEPTION_MODE: "REDIRECT" }),
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
    TRUST_DOMAIN: "cluster.local",
    WEFT_AGENT_DIR: agentDir,
    WEFT_POD_INFO_DIR: podInfoDir,
    WEFT_DISCOVERY_ADDRESS: discoveryAddress,
  };
}

/**
 * Explicit mode: nothing is captured and every pod shares the host's network,
 * so the sidecar binds its admin, health and stats ports on the pod's own
 * address, and discovery (told by INTERCEPTION_MODE=NONE) binds its listeners
 * there too and sends inbound traffic to the app's address.
 */
function explicitSidecarEnv(pod: LocalPod): Record<string, string> {
  return { ISTIO_META_INTERCEPTION_MODE: "NONE", WEFT_BIND_ADDRESS: pod.ip, ISTIO_META_WEFT_APP_ADDRESS: pod.appIp };
}

/** Explicit mode: a workload's HTTP goes to its sidecar as an HTTP proxy (absolute-form requests). */
export function explicitProxyEnv(pod: LocalPod): Record<string, string> {
  const proxy = `http://${pod.ip}:${EXPLICIT_PROXY_PORT}`;
  return { HTTP_PROXY: proxy, http_proxy: proxy, NO_PROXY: "localhost,127.0.0.1", no_proxy: "localhost,127.0.0.1" };
}

/** The port apps use as their HTTP proxy in explicit mode (discovery binds the sidecar's HTTP proxy listener there). */
export const EXPLICIT_PROXY_PORT = 15001;

/**
 * The environment of an app run locally, as samples/README.md's
 * `weft.dev/local-command` contract defines it: weftctl's own environment,
 * the container's `env`, then the contract's variables. Apps keep Kubernetes
 * defaults for their upstreams (`http://details:9080`), which resolve to
 * service VIPs inside the pod.
 */
export function appEnv(plan: LocalPlan, pod: LocalPod, samplesDir: string | undefined): Record<string, string> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), PATH: childPath() };
  const field: Record<string, string> = { "metadata.name": pod.name, "metadata.namespace": pod.namespace, "status.podIP": pod.ip, "spec.serviceAccountName": pod.serviceAccount };
  for (const e of pod.containerEnv) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef && field[e.valueFrom.fieldRef.fieldPath] !== undefined) env[e.name] = field[e.valueFrom.fieldRef.fieldPath];
  }
  Object.assign(env, {
    NODE: process.execPath,
    POD_NAME: pod.name,
    POD_NAMESPACE: pod.namespace,
    POD_IP: pod.ip,
    HOSTNAME: pod.name,
    SERVICE_ACCOUNT: pod.serviceAccount,
    BIND_ADDRESS: plan.mode === "explicit" ? pod.appIp : "0.0.0.0",
  });
  if (plan.mode === "explicit" && pod.sidecar) Object.assign(env, explicitProxyEnv(pod));
  if (pod.containerPorts[0]) env.PORT = String(pod.containerPorts[0]);
  if (samplesDir) env.WEFT_SAMPLES = samplesDir;
  return env;
}

/** The variables a local command may reference, per the contract. */
const COMMAND_VARIABLES = new Set(["WEFT_SAMPLES", "NODE", "PORT", "BIND_ADDRESS", "POD_IP", "POD_NAME", "POD_NAMESPACE", "SERVICE_ACCOUNT"]);

/** Replaces `${VAR}` (and `$$` → `$`) in a command's words; an unknown or empty variable is an error naming both. */
export function expandCommand(words: readonly string[], env: Record<string, string>, workload = "workload"): string[] {
  return words.map((word) =>
    word.replace(/\$\$|\$\{([A-Za-z0-9_]+)\}/g, (match, name: string | undefined) => {
      if (match === "$$") return "$";
      const value = env[name!];
      if (!COMMAND_VARIABLES.has(name!) || value === undefined || value === "") {
        throw new LocalError(`${workload}: weft.dev/local-command uses \${${name}}, which has no value for this pod`, `usable: ${[...COMMAND_VARIABLES].join(", ")}`);
      }
      return value;
    }),
  );
}
