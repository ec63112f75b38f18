import { join, resolve } from "node:path";
import { isIP } from "node:net";
import { availableParallelism } from "node:os";
import { AgentError } from "../errors.js";
import { DEFAULT_POD_INFO_DIR, readPodInfo, type PodInfo } from "./pod-info.js";
import { mergeProxyConfig, parseProxyConfig, proxyConfigToJson, type ProxyConfig } from "./proxy-config.js";
import { metadataFromEnv } from "./node-metadata.js";
import { parseCpuLimit, readCgroupCpuQuota, resolveConcurrency, type Concurrency } from "./concurrency.js";
import { parseYamlObject } from "./yaml-object.js";

export type ProxyType = "sidecar" | "router";

/** The version we claim in ISTIO_VERSION; discovery uses it for feature gating like istiod does. */
export const WEFT_ISTIO_VERSION = "1.20.0";

export interface AgentPorts {
  admin: number;
  status: number;
  health: number;
  prometheus: number;
}

/** Everything the agent derives from its environment, flags and pod-info files. */
export interface AgentEnv {
  proxyType: ProxyType;
  podName: string;
  podNamespace: string;
  instanceIp: string;
  /** All IPs of the pod (INSTANCE_IP first, then ISTIO_META_INSTANCE_IPS extras). */
  instanceIps: string[];
  serviceAccount: string;
  hostIp: string | undefined;
  trustDomain: string;
  caAddr: string;
  domain: string;
  canonicalService: string | undefined;
  canonicalRevision: string | undefined;
  /** ProxyConfig as the proxy runs it: `concurrency` is the resolved worker count. */
  proxyConfig: ProxyConfig;
  /** The proxy's worker count and what decided it (concurrency.ts). */
  concurrency: Concurrency;
  podInfo: PodInfo;
  /** Raw ISTIO_META_* / ISTIO_METAJSON_* metadata, before the agent adds its own keys. */
  envMetadata: Record<string, unknown>;
  /** Istio's app probers (ISTIO_KUBE_APP_PROBERS), unparsed. */
  appProbers: string | undefined;
  exitOnZeroActiveConnections: boolean;
  /** The app's original prometheus.io annotations as JSON (ISTIO_PROMETHEUS_ANNOTATIONS, set by the injector). */
  prometheusAnnotations: string | undefined;
  /** Where envoy-rev.json and the XDS / SDS sockets live. */
  agentDir: string;
  xdsSocketPath: string;
  sdsSocketPath: string;
  bootstrapPath: string;
  certs: { certChain: string; key: string; rootCert: string };
  ports: AgentPorts;
  /** IP the admin interface binds (127.0.0.1 unless WEFT_BIND_ADDRESS). */
  adminAddress: string;
  /** IP the 15020 / 15021 / 15090 listeners bind (0.0.0.0 unless WEFT_BIND_ADDRESS). */
  listenAddress: string;
  /** Address the proxy uses to reach the agent (15020) and its own admin. */
  localAddress: string;
}

export interface LoadEnvOptions {
  proxyType?: ProxyType;
  domain?: string;
  podInfoDir?: string;
  /** pilot-agent's legacy --concurrency flag: any value but 0 overrides ProxyConfig and the CPU limit. */
  concurrencyFlag?: number;
  /** CPUs `concurrency: 0` expands to (default: os.availableParallelism()). */
  hostCpus?: number;
}

function port(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new AgentError("invalid_env", `${name}: "${v}" is not a port number`);
  return n;
}

function ip(env: Record<string, string | undefined>, name: string): string | undefined {
  const v = env[name]?.trim();
  if (!v) return undefined;
  if (isIP(v) === 0) throw new AgentError("invalid_env", `${name}: "${v}" is not an IP address`);
  return v;
}

/**
 * pilot-agent's CA_ADDR default is the discovery address (istiod serves the CA and xDS on
 * 15012). 15010 is xDS in plaintext only, so a discovery address on 15010 means the CA is
 * on the same host's 15012.
 */
export function defaultCaAddr(discoveryAddress: string): string {
  const m = /^(.*):15010$/.exec(discoveryAddress);
  return m ? `${m[1]}:15012` : discoveryAddress;
}

/** Reads the pod environment as pilot-agent does (see README for the list). */
export function loadAgentEnv(env: Record<string, string | undefined> = process.env, opts: LoadEnvOptions = {}): AgentEnv {
  const proxyType = opts.proxyType ?? "sidecar";
  const podNamespace = env.POD_NAMESPACE || "default";
  const podName = env.POD_NAME || "";
  const instanceIp = ip(env, "INSTANCE_IP") ?? ip(env, "POD_IP") ?? "127.0.0.1";
  const podInfo = readPodInfo(env.WEFT_POD_INFO_DIR || opts.podInfoDir || DEFAULT_POD_INFO_DIR);

  let proxyConfig = parseProxyConfig(env.PROXY_CONFIG);
  // Istio lets the pod override mesh ProxyConfig with the proxy.istio.io/config annotation.
  const annotated = podInfo.annotations["proxy.istio.io/config"];
  if (annotated) proxyConfig = mergeProxyConfig(proxyConfig, parseYamlObject(annotated, "annotation proxy.istio.io/config"));
  if (env.WEFT_DISCOVERY_ADDRESS) proxyConfig = { ...proxyConfig, discoveryAddress: env.WEFT_DISCOVERY_ADDRESS };

  // proxyMetadata entries behave as if they were environment variables of the agent.
  const effectiveEnv = { ...env, ...proxyConfig.proxyMetadata };
  const envMetadata = metadataFromEnv(effectiveEnv);

  const extraIps = typeof envMetadata.INSTANCE_IPS === "string" ? envMetadata.INSTANCE_IPS.split(",").map((s) => s.trim()).filter(Boolean) : [];
  const instanceIps = [instanceIp, ...extraIps.filter((x) => x !== instanceIp)];

  const agentDir = resolve(env.WEFT_AGENT_DIR || proxyConfig.configPath);
  const certDir = env.OUTPUT_CERTS || "./etc/certs";
  const bind = ip(env, "WEFT_BIND_ADDRESS");

  const ports: AgentPorts = {
    admin: port(env, "WEFT_ADMIN_PORT", proxyConfig.proxyAdminPort),
    status: port(env, "WEFT_STATUS_PORT", proxyConfig.statusPort),
    health: port(env, "WEFT_HEALTH_PORT", 15021),
    prometheus: port(env, "WEFT_PROMETHEUS_PORT", 15090),
  };

  const concurrency =
    opts.concurrencyFlag !== undefined && opts.concurrencyFlag > 0
      ? { workers: opts.concurrencyFlag, source: "flag" as const }
      : resolveConcurrency(proxyConfig.concurrency, parseCpuLimit(env.ISTIO_CPU_LIMIT), opts.hostCpus ?? availableParallelism(), readCgroupCpuQuota(env.WEFT_CGROUP_DIR || undefined));

  const trustDomain = env.TRUST_DOMAIN || "cluster.local";
  const exitOnZero = (env.EXIT_ON_ZERO_ACTIVE_CONNECTIONS ?? "").toLowerCase() === "true";

  return {
    proxyType,
    podName,
    podNamespace,
    instanceIp,
    instanceIps,
    serviceAccount: env.SERVICE_ACCOUNT || "default",
    hostIp: env.HOST_IP || undefined,
    trustDomain,
    caAddr: env.CA_ADDR || defaultCaAddr(proxyConfig.discoveryAddress),
    domain: opts.domain || `${podNamespace}.svc.cluster.local`,
    canonicalService: env.CANONICAL_SERVICE || undefined,
    canonicalRevision: env.CANONICAL_REVISION || undefined,
    // Like pilot-agent, node metadata's PROXY_CONFIG carries the concurrency actually used.
    proxyConfig: { ...proxyConfig, proxyAdminPort: ports.admin, statusPort: ports.status, concurrency: concurrency.workers },
    concurrency,
    podInfo,
    envMetadata,
    appProbers: env.ISTIO_KUBE_APP_PROBERS || undefined,
    exitOnZeroActiveConnections: exitOnZero,
    prometheusAnnotations: env.ISTIO_PROMETHEUS_ANNOTATIONS || undefined,
    agentDir,
    xdsSocketPath: env.WEFT_XDS_SOCKET || join(agentDir, "XDS"),
    sdsSocketPath: env.WEFT_SDS_SOCKET || join(agentDir, "SDS"),
    bootstrapPath: join(agentDir, "envoy-rev.json"),
    certs: {
      certChain: env.WEFT_CERT_CHAIN || join(certDir, "cert-chain.pem"),
      key: env.WEFT_KEY || join(certDir, "key.pem"),
      rootCert: env.WEFT_ROOT_CERT || join(certDir, "root-cert.pem"),
    },
    ports,
    adminAddress: bind ?? "127.0.0.1",
    listenAddress: bind ?? "0.0.0.0",
    localAddress: bind ?? "127.0.0.1",
  };
}

export { proxyConfigToJson };
