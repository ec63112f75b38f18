// envoy.filters.network.connection_limit: at most max_connections active
// connections through the filter chain; the ones over it are closed (after
// `delay`, reading nothing meanwhile, so a client cannot retry in a tight
// loop) and counted in connection_limit.<stat_prefix>.limited_connections.
// Stats: limited_connections (counter), active_connections (gauge).
import type { Socket } from "node:net";
import type { Any } from "@bufbuild/protobuf/wkt";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { TypedStructSchema } from "@weft/xds-api/gen/udpa/type/v1/typed_struct_pb.js";
import { ResourceRejectedError, type StatsStore } from "../contracts.js";
import type { NetworkFilter } from "../authz/network-filters.js";
import type { ConnInfo } from "./conn-info.js";
import { durationField, stringField, typedConfigFields, varintField, wireFields, type ConfigFields } from "./typed-config-fields.js";

export const CONNECTION_LIMIT_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit";
const TYPED_STRUCTS = ["type.googleapis.com/udpa.type.v1.TypedStruct", "type.googleapis.com/xds.type.v3.TypedStruct"];

/** True when the filter's typed_config is a ConnectionLimit (directly or as a TypedStruct). */
export function isConnectionLimit(any: Any): boolean {
  if (any.typeUrl === CONNECTION_LIMIT_TYPE_URL) return true;
  if (!TYPED_STRUCTS.includes(any.typeUrl)) return false;
  return anyUnpack({ ...any, typeUrl: TYPED_STRUCTS[0] } as Any, TypedStructSchema)?.typeUrl === CONNECTION_LIMIT_TYPE_URL;
}

export interface ConnectionLimitSpec {
  statPrefix: string;
  maxConnections: number;
  /** 0: close at once. */
  delayMs: number;
  /** runtime_enabled.default_value (runtime overrides are not read). */
  enabled: boolean;
}

/** runtime_enabled (RuntimeFeatureFlag): default_value = 1 (BoolValue), runtime_key = 2. */
function enabledOf(f: ConfigFields, res: string, field: string): boolean {
  if (f.kind === "json") {
    const flag = (f.value.runtime_enabled ?? f.value.runtimeEnabled) as Record<string, unknown> | undefined;
    if (!flag) return true;
    const d = flag.default_value ?? flag.defaultValue;
    if (d === undefined) throw new ResourceRejectedError(res, `${field}.runtime_enabled.default_value`, "is required");
    if (typeof d !== "boolean") throw new ResourceRejectedError(res, `${field}.runtime_enabled.default_value`, `expected a bool, got ${JSON.stringify(d)}`);
    return d;
  }
  const raw = f.fields.get(4)?.at(-1);
  if (raw === undefined) return true;
  if (!(raw instanceof Uint8Array)) throw new ResourceRejectedError(res, `${field}.runtime_enabled`, "expected a RuntimeFeatureFlag");
  const flag = wireFields(raw, res, `${field}.runtime_enabled`);
  const d = varintField(flag, 1, "default_value", res, `${field}.runtime_enabled`, true);
  if (d === undefined) throw new ResourceRejectedError(res, `${field}.runtime_enabled.default_value`, "is required");
  return d !== 0n;
}

/**
 * `workers`: Envoy's count is shared by its worker threads; Weft's workers are processes, so
 * each enforces its share, ⌈max_connections / workers⌉.
 */
export function compileConnectionLimitSpec(any: Any, res: string, field: string, workers = 1): ConnectionLimitSpec {
  const f = typedConfigFields(any, CONNECTION_LIMIT_TYPE_URL, res, field);
  const statPrefix = stringField(f, 1, "stat_prefix", res, field) ?? "";
  if (!statPrefix) throw new ResourceRejectedError(res, `${field}.stat_prefix`, "must not be empty");
  const max = varintField(f, 2, "max_connections", res, field, true);
  // PGV: uint64 gte 1; an unset wrapper is not a limit Envoy can apply either.
  if (max === undefined || max < 1n) throw new ResourceRejectedError(res, `${field}.max_connections`, "must be at least 1");
  return {
    statPrefix,
    maxConnections: Math.ceil(Number(max > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : max) / Math.max(1, workers)),
    delayMs: durationField(f, 3, "delay", res, field) ?? 0,
    enabled: enabledOf(f, res, field),
  };
}

/** The live filter: one active count per filter config (so per filter chain, as Envoy's). */
export function createConnectionLimitFilter(name: string, spec: ConnectionLimitSpec, stats: StatsStore | undefined): NetworkFilter {
  const p = `connection_limit.${spec.statPrefix}.`;
  const limited = stats?.counter(p + "limited_connections");
  const activeGauge = stats?.gauge(p + "active_connections");
  let active = 0;
  return {
    name,
    closeDelayMs: spec.delayMs,
    onConnection(_conn: ConnInfo, socket?: Socket) {
      if (!spec.enabled) return undefined;
      if (active >= spec.maxConnections) {
        limited?.inc();
        return "connection_limit_exceeded";
      }
      active++;
      activeGauge?.inc();
      socket?.once("close", () => {
        active--;
        activeGauge?.dec();
      });
      return undefined;
    },
  };
}
