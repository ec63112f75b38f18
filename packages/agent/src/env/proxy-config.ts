import { parseJsonOrYaml } from "./json-or-yaml.js";
import { AgentError } from "../errors.js";
import { formatDuration, parseDuration } from "./duration.js";

/** Tracing as ProxyConfig (istio.mesh.v1alpha1.Tracing) carries it; only zipkin is turned into a bootstrap tracer. */
export interface TracingConfig {
  zipkin?: { address: string };
  sampling?: number;
  /** Other tracers (lightstep, datadog, …) are kept for node metadata but not rendered. */
  other?: Record<string, unknown>;
}

/**
 * The subset of Istio's ProxyConfig (istio.mesh.v1alpha1.ProxyConfig) the agent acts on,
 * with Istio's defaults (mesh.DefaultProxyConfig). Durations are in milliseconds.
 */
export interface ProxyConfig {
  configPath: string;
  binaryPath: string;
  serviceCluster: string;
  drainDurationMs: number;
  parentShutdownDurationMs: number;
  terminationDrainDurationMs: number;
  discoveryAddress: string;
  proxyAdminPort: number;
  controlPlaneAuthPolicy: "NONE" | "MUTUAL_TLS";
  statNameLength: number;
  statusPort: number;
  /**
   * Proxy worker count when ProxyConfig sets it (0 included). Unset is not 2 any more:
   * the agent derives it from the container's CPU limit (concurrency.ts), as pilot-agent does.
   */
  concurrency: number | undefined;
  tracing: TracingConfig | undefined;
  proxyMetadata: Record<string, string>;
  holdApplicationUntilProxyStarts: boolean;
  interceptionMode: "REDIRECT" | "TPROXY" | "NONE";
  meshId?: string;
}

export const DEFAULT_PROXY_CONFIG: ProxyConfig = {
  configPath: "./etc/istio/proxy",
  binaryPath: "/usr/local/bin/envoy",
  serviceCluster: "istio-proxy",
  drainDurationMs: 45_000,
  parentShutdownDurationMs: 60_000,
  terminationDrainDurationMs: 5_000,
  discoveryAddress: "istiod.istio-system.svc:15012",
  proxyAdminPort: 15000,
  controlPlaneAuthPolicy: "MUTUAL_TLS",
  statNameLength: 189,
  statusPort: 15020,
  concurrency: undefined,
  // Istio's DefaultProxyConfig traces to zipkin.istio-system:9411 unless the mesh says otherwise.
  tracing: { zipkin: { address: "zipkin.istio-system:9411" } },
  proxyMetadata: {},
  holdApplicationUntilProxyStarts: false,
  interceptionMode: "REDIRECT",
};

type Raw = Record<string, unknown>;

/** Protobuf JSON accepts both lowerCamel and the proto's snake_case names. */
function pick(raw: Raw, camel: string): unknown {
  if (camel in raw) return raw[camel];
  const snake = camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return raw[snake];
}

function str(raw: Raw, key: string, fallback: string): string {
  const v = pick(raw, key);
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "string") throw new AgentError("invalid_proxy_config", `PROXY_CONFIG.${key}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function int(raw: Raw, key: string, fallback: number): number {
  const v = pick(raw, key);
  if (v === undefined || v === null) return fallback;
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
    throw new AgentError("invalid_proxy_config", `PROXY_CONFIG.${key}: expected a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return n;
}

function dur(raw: Raw, key: string, fallback: number): number {
  const v = pick(raw, key);
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "string" && typeof v !== "number") {
    throw new AgentError("invalid_proxy_config", `PROXY_CONFIG.${key}: expected a duration like "5s", got ${JSON.stringify(v)}`);
  }
  try {
    return parseDuration(v, `PROXY_CONFIG.${key}`);
  } catch (err) {
    throw new AgentError("invalid_proxy_config", (err as Error).message);
  }
}

function parseTracing(v: unknown): TracingConfig | undefined {
  if (v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) {
    throw new AgentError("invalid_proxy_config", `PROXY_CONFIG.tracing: expected an object, got ${JSON.stringify(v)}`);
  }
  const t = v as Raw;
  const out: TracingConfig = {};
  if (t.sampling !== undefined) out.sampling = Number(t.sampling);
  for (const [k, val] of Object.entries(t)) {
    if (k === "sampling") continue;
    if (k === "zipkin") {
      const address = (val as Raw | null)?.address;
      if (typeof address !== "string" || !address.includes(":")) {
        throw new AgentError("invalid_proxy_config", `PROXY_CONFIG.tracing.zipkin.address: expected "host:port", got ${JSON.stringify(address)}`);
      }
      out.zipkin = { address };
    } else {
      (out.other ??= {})[k] = val;
    }
  }
  return out;
}

/** Parses PROXY_CONFIG (JSON or YAML) and applies Istio's defaults. An empty text means all defaults. */
export function parseProxyConfig(text: string | undefined): ProxyConfig {
  const trimmed = text?.trim() ?? "";
  if (trimmed === "") return { ...DEFAULT_PROXY_CONFIG };
  let raw: unknown;
  try {
    raw = parseJsonOrYaml(trimmed);
  } catch (err) {
    throw new AgentError("invalid_proxy_config", `PROXY_CONFIG is neither JSON nor YAML: ${(err as Error).message}`, { cause: err });
  }
  if (raw === null || raw === undefined) return { ...DEFAULT_PROXY_CONFIG };
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new AgentError("invalid_proxy_config", `PROXY_CONFIG must be an object, got ${JSON.stringify(raw)}`);
  }
  return mergeProxyConfig(DEFAULT_PROXY_CONFIG, raw as Raw);
}

/** Overlays one raw ProxyConfig object (e.g. from the proxy.istio.io/config annotation) on a parsed one. */
export function mergeProxyConfig(base: ProxyConfig, raw: Raw): ProxyConfig {
  const d = base;
  const policy = str(raw, "controlPlaneAuthPolicy", d.controlPlaneAuthPolicy);
  if (policy !== "NONE" && policy !== "MUTUAL_TLS") {
    throw new AgentError("invalid_proxy_config", `PROXY_CONFIG.controlPlaneAuthPolicy: expected NONE or MUTUAL_TLS, got "${policy}"`);
  }
  const mode = str(raw, "interceptionMode", d.interceptionMode);
  if (mode !== "REDIRECT" && mode !== "TPROXY" && mode !== "NONE") {
    throw new AgentError("invalid_proxy_config", `PROXY_CONFIG.interceptionMode: expected REDIRECT, TPROXY or NONE, got "${mode}"`);
  }
  const md = pick(raw, "proxyMetadata");
  if (md !== undefined && md !== null && (typeof md !== "object" || Array.isArray(md))) {
    throw new AgentError("invalid_proxy_config", `PROXY_CONFIG.proxyMetadata: expected a map of strings, got ${JSON.stringify(md)}`);
  }
  const proxyMetadata = { ...d.proxyMetadata };
  for (const [k, v] of Object.entries((md ?? {}) as Raw)) proxyMetadata[k] = String(v);
  const hold = pick(raw, "holdApplicationUntilProxyStarts");
  const tracingRaw = pick(raw, "tracing");
  const meshId = pick(raw, "meshId");
  return {
    configPath: str(raw, "configPath", d.configPath),
    binaryPath: str(raw, "binaryPath", d.binaryPath),
    serviceCluster: str(raw, "serviceCluster", d.serviceCluster),
    drainDurationMs: dur(raw, "drainDuration", d.drainDurationMs),
    parentShutdownDurationMs: dur(raw, "parentShutdownDuration", d.parentShutdownDurationMs),
    terminationDrainDurationMs: dur(raw, "terminationDrainDuration", d.terminationDrainDurationMs),
    discoveryAddress: str(raw, "discoveryAddress", d.discoveryAddress),
    proxyAdminPort: int(raw, "proxyAdminPort", d.proxyAdminPort),
    controlPlaneAuthPolicy: policy,
    statNameLength: int(raw, "statNameLength", d.statNameLength),
    statusPort: int(raw, "statusPort", d.statusPort),
    concurrency: pick(raw, "concurrency") == null ? d.concurrency : int(raw, "concurrency", 0),
    tracing: tracingRaw === undefined ? d.tracing : parseTracing(tracingRaw),
    proxyMetadata,
    holdApplicationUntilProxyStarts: hold === undefined ? d.holdApplicationUntilProxyStarts : hold === true || hold === "true",
    interceptionMode: mode,
    ...(typeof meshId === "string" ? { meshId } : d.meshId !== undefined ? { meshId: d.meshId } : {}),
  };
}

/** ProxyConfig as Istio puts it into node metadata PROXY_CONFIG (lowerCamel JSON, durations as strings). */
export function proxyConfigToJson(pc: ProxyConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    binaryPath: pc.binaryPath,
    ...(pc.concurrency !== undefined ? { concurrency: pc.concurrency } : {}),
    configPath: pc.configPath,
    controlPlaneAuthPolicy: pc.controlPlaneAuthPolicy,
    discoveryAddress: pc.discoveryAddress,
    drainDuration: formatDuration(pc.drainDurationMs),
    parentShutdownDuration: formatDuration(pc.parentShutdownDurationMs),
    proxyAdminPort: pc.proxyAdminPort,
    serviceCluster: pc.serviceCluster,
    statNameLength: pc.statNameLength,
    statusPort: pc.statusPort,
    terminationDrainDuration: formatDuration(pc.terminationDrainDurationMs),
  };
  if (pc.tracing) {
    const t: Record<string, unknown> = { ...(pc.tracing.other ?? {}) };
    if (pc.tracing.zipkin) t.zipkin = { address: pc.tracing.zipkin.address };
    if (pc.tracing.sampling !== undefined) t.sampling = pc.tracing.sampling;
    out.tracing = t;
  }
  if (Object.keys(pc.proxyMetadata).length > 0) out.proxyMetadata = { ...pc.proxyMetadata };
  if (pc.holdApplicationUntilProxyStarts) out.holdApplicationUntilProxyStarts = true;
  if (pc.meshId) out.meshId = pc.meshId;
  return out;
}
