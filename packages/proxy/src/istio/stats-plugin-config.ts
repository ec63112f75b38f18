// istio.stats' config (stats.PluginConfig) as a network filter carries it:
// the message itself (istiod 1.22+) or wrapped in a udpa/xds TypedStruct, read
// into its proto3 JSON form with Istio's field names, which is the form the
// stats filters plan from.
import { toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { PluginConfigSchema } from "@weft/xds-api/gen/istio/proxy/stats_pb.js";
import { TypedStructSchema as UdpaTypedStructSchema } from "@weft/xds-api/gen/udpa/type/v1/typed_struct_pb.js";
import { TypedStructSchema as XdsTypedStructSchema } from "@weft/xds-api/gen/xds/type/v3/typed_struct_pb.js";

export const STATS_PLUGIN_CONFIG_TYPE_URL = "type.googleapis.com/stats.PluginConfig";
const UDPA_TYPED_STRUCT = "type.googleapis.com/udpa.type.v1.TypedStruct";
const XDS_TYPED_STRUCT = "type.googleapis.com/xds.type.v3.TypedStruct";

/** PluginConfig's tcp_reporting_duration when unset: 5 s, what Istio's stats filter does (istio_stats.cc), though its config.proto comment says 15 s. */
export const DEFAULT_TCP_REPORTING_MS = 5_000;

function asObject(v: JsonValue | undefined): JsonObject {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? v : {};
}

/** The PluginConfig in `any` as JSON, or undefined when `any` is not istio.stats' config. */
export function statsPluginConfigOf(any: Any): JsonObject | undefined {
  if (any.typeUrl === STATS_PLUGIN_CONFIG_TYPE_URL) {
    const msg = anyUnpack(any, PluginConfigSchema);
    return msg ? asObject(toJson(PluginConfigSchema, msg, { useProtoFieldName: true })) : {};
  }
  const schema = any.typeUrl === UDPA_TYPED_STRUCT ? UdpaTypedStructSchema : any.typeUrl === XDS_TYPED_STRUCT ? XdsTypedStructSchema : undefined;
  if (!schema) return undefined;
  const ts = anyUnpack(any, schema);
  return ts?.typeUrl === STATS_PLUGIN_CONFIG_TYPE_URL ? asObject(ts.value) : undefined;
}

/**
 * tcp_reporting_duration in milliseconds: a proto3 JSON Duration ("15s", "0.200s"); 0 turns the
 * periodic report off (Istio arms its timer only for a positive duration). Anything else is
 * reported and the default kept.
 */
export function tcpReportingMs(json: JsonObject, report: (field: string, detail?: string) => void, at: string): number {
  const v = json["tcp_reporting_duration"] ?? json["tcpReportingDuration"];
  if (v === undefined || v === null) return DEFAULT_TCP_REPORTING_MS;
  const m = typeof v === "string" ? /^(\d+)(?:\.(\d{1,9}))?s$/.exec(v) : null;
  if (!m) {
    report(`${at}.tcp_reporting_duration`, `not a duration (${JSON.stringify(v)}); the default ${DEFAULT_TCP_REPORTING_MS / 1000}s is used`);
    return DEFAULT_TCP_REPORTING_MS;
  }
  return Number(m[1]) * 1000 + Math.floor(Number(`0.${m[2] ?? "0"}`) * 1000);
}
