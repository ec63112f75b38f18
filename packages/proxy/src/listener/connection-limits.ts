// Downstream connection caps from the bootstrap, the Envoy way:
// - overload_manager.resource_monitors `envoy.resource_monitors.global_downstream_max_connections`
//   (DownstreamConnectionsConfig.max_active_downstream_connections), or the older
//   runtime key `overload.global_downstream_max_connections` in a static layer;
//   the resource monitor wins when both are set (Envoy warns and ignores the key).
// - per listener: the runtime key `envoy.resource_limits.listener.<listener name>.connection_limit`.
// Envoy has no global default (it only warns); Weft never runs without one:
// see DEFAULT_GLOBAL_MAX_CONNECTIONS.
import { readFileSync } from "node:fs";
import type { Bootstrap } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb.js";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { ResourceRejectedError } from "../contracts.js";
import { typedConfigFields, varintField } from "./typed-config-fields.js";

export const GLOBAL_CX_MONITOR = "envoy.resource_monitors.global_downstream_max_connections";
export const DOWNSTREAM_CONNECTIONS_TYPE_URL = "type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig";
const GLOBAL_RUNTIME_KEY = "overload.global_downstream_max_connections";
const LISTENER_KEY = /^envoy\.resource_limits\.listener\.(.+)\.connection_limit$/;

/**
 * Weft's cap when the bootstrap sets none. A sidecar fronts one workload: ten
 * thousand concurrent downstream connections is far past what one needs, yet
 * low enough that an idle-connection flood (a few KB of heap and two kernel
 * buffers each) cannot take the proxy's memory past a few hundred MB.
 */
export const DEFAULT_GLOBAL_MAX_CONNECTIONS = 10_000;
/** File descriptors kept back from the cap: upstream connections, admin, xDS, logs. */
const FD_RESERVE = 64;

export interface ConnectionLimits {
  /** Downstream connections this process accepts across its listeners (listeners with ignore_global_conn_limit aside). */
  globalMax: number;
  /** Where globalMax came from, for the startup log and /runtime readers. */
  globalSource: "overload_manager" | "runtime" | "default";
  /** Per-listener caps by listener name (runtime `envoy.resource_limits.listener.<name>.connection_limit`). */
  perListener: Map<string, number>;
  /** Worker processes (--concurrency) the caps were divided among. */
  workers: number;
}

export interface ConnectionLimitOptions {
  /** Worker processes sharing the listeners (--concurrency): each gets its share of the global cap. */
  workers: number;
  /** RLIMIT_NOFILE soft limit; read from /proc/self/limits when absent. */
  fdLimit?: number;
  report(field: string, detail?: string): void;
}

/** The process's soft open-files limit, or undefined when /proc does not say. */
export function softFdLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return m && m[1] !== "unlimited" ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Flattens static layers (later layers win) into Envoy's dotted runtime keys. */
export function staticRuntimeValues(b: Bootstrap): Map<string, JsonValue> {
  const out = new Map<string, JsonValue>();
  const walk = (prefix: string, v: JsonValue): void => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v as JsonObject)) walk(prefix ? `${prefix}.${k}` : k, x);
    } else out.set(prefix, v);
  };
  for (const layer of b.layeredRuntime?.layers ?? []) {
    if (layer.layerSpecifier.case === "staticLayer") walk("", layer.layerSpecifier.value);
  }
  return out;
}

function runtimeCount(key: string, v: JsonValue): number {
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
    throw new ResourceRejectedError("bootstrap", `layered_runtime.static_layer.${key}`, `expected a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return n;
}

function monitorMax(b: Bootstrap, report: ConnectionLimitOptions["report"]): number | undefined {
  const om = b.overloadManager;
  if (!om) return undefined;
  let max: number | undefined;
  om.resourceMonitors.forEach((m, i) => {
    const field = `overload_manager.resource_monitors[${i}]`;
    const any = m.configType.case === "typedConfig" ? m.configType.value : undefined;
    if (m.name !== GLOBAL_CX_MONITOR && any?.typeUrl !== DOWNSTREAM_CONNECTIONS_TYPE_URL) {
      report(`${field}[${m.name}]`, "resource monitor not implemented; ignored");
      return;
    }
    if (!any) throw new ResourceRejectedError("bootstrap", `${field}.typed_config`, `${GLOBAL_CX_MONITOR} needs a DownstreamConnectionsConfig`);
    const fields = typedConfigFields(any, DOWNSTREAM_CONNECTIONS_TYPE_URL, "bootstrap", `${field}.typed_config`);
    const v = varintField(fields, 1, "max_active_downstream_connections", "bootstrap", `${field}.typed_config`);
    // PGV: gt 0 ("should be explicitly configured with value greater than 0").
    if (v === undefined || v <= 0n) throw new ResourceRejectedError("bootstrap", `${field}.typed_config.max_active_downstream_connections`, "must be greater than 0");
    max = Number(v > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : v);
  });
  if (om.actions.length) report("overload_manager.actions", "overload actions are not implemented; only the downstream connections monitor is enforced");
  if (om.loadshedPoints.length) report("overload_manager.loadshed_points", "not implemented");
  return max;
}

export function compileConnectionLimits(b: Bootstrap, opts: ConnectionLimitOptions): ConnectionLimits {
  const runtime = staticRuntimeValues(b);
  const perListener = new Map<string, number>();
  let fromRuntime: number | undefined;
  for (const [k, v] of runtime) {
    if (k === GLOBAL_RUNTIME_KEY) fromRuntime = runtimeCount(k, v);
    const m = LISTENER_KEY.exec(k);
    if (m) perListener.set(m[1]!, runtimeCount(k, v));
  }
  const fromMonitor = monitorMax(b, opts.report);
  let globalMax: number;
  let globalSource: ConnectionLimits["globalSource"];
  if (fromMonitor !== undefined) [globalMax, globalSource] = [fromMonitor, "overload_manager"];
  else if (fromRuntime !== undefined) [globalMax, globalSource] = [fromRuntime, "runtime"];
  else [globalMax, globalSource] = [DEFAULT_GLOBAL_MAX_CONNECTIONS, "default"];
  // Envoy counts across its worker threads; Weft's workers are processes, so each takes its share.
  const workers = Math.max(1, opts.workers);
  if (workers > 1) globalMax = Math.ceil(globalMax / workers);
  // Whatever is configured (Istio's bootstrap says 2147483647), accepting past the open-files limit
  // would starve the proxy's own upstream connections: each downstream one may need an upstream fd.
  const fds = opts.fdLimit ?? softFdLimit();
  if (fds !== undefined) {
    const ceiling = Math.max(1, Math.floor((fds - FD_RESERVE) / 2));
    if (globalMax > ceiling) globalMax = ceiling;
  }
  // A listener's own runtime limit is shared the same way.
  if (workers > 1) for (const [k, v] of perListener) perListener.set(k, Math.ceil(v / workers));
  return { globalMax, globalSource, perListener, workers };
}
