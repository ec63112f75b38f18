// A patch value as users write it (Istio's YAML form) → canonical Envoy JSON
// of the applyTo's message. Parsing through the xds-api registry checks every
// field and `@type` once, when the EnvoyFilter is read, and writing it back
// with toEnvoyJson gives the same field names and formats as the generated
// resources, so MERGE compares like with like. Proto3 defaults vanish on the
// way, which is exactly protobuf merge: an unset scalar never overwrites.
import type { DescMessage, JsonObject, JsonValue } from "@bufbuild/protobuf";
import { findMessage, fromEnvoyJson, toEnvoyJson } from "@weft/xds-api";
import { ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { FilterChainSchema, FilterSchema, ListenerFilterSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_components_pb.js";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb.js";
import { RouteSchema, VirtualHostSchema } from "@weft/xds-api/gen/envoy/config/route/v3/route_components_pb.js";
import { HttpFilterSchema } from "@weft/xds-api/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { isObject } from "../source/field-checker.js";
import { typeOfFilterName } from "./filter-names.js";
import type { ApplyTo } from "./types.js";

export const SCHEMA_OF: Partial<Record<ApplyTo, DescMessage>> = {
  LISTENER: ListenerSchema,
  FILTER_CHAIN: FilterChainSchema,
  NETWORK_FILTER: FilterSchema,
  HTTP_FILTER: HttpFilterSchema,
  LISTENER_FILTER: ListenerFilterSchema,
  ROUTE_CONFIGURATION: RouteConfigurationSchema,
  VIRTUAL_HOST: VirtualHostSchema,
  HTTP_ROUTE: RouteSchema,
  CLUSTER: ClusterSchema,
};

const TYPED_STRUCTS = new Set(["udpa.type.v1.TypedStruct", "xds.type.v3.TypedStruct"]);
const TYPE_PREFIX = "type.googleapis.com/";

/**
 * A TypedStruct whose inner type the registry knows becomes that type
 * directly: Envoy treats the two as the same config, and only the direct form
 * lets us check the inner fields now (instead of a NACK later) and merge them.
 */
function unwrapTypedStructs(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(unwrapTypedStructs);
  if (!isObject(value)) return value;
  const type = typeof value["@type"] === "string" ? value["@type"].slice(value["@type"].lastIndexOf("/") + 1) : "";
  if (TYPED_STRUCTS.has(type) && typeof value.type_url === "string" && findMessage(value.type_url)) {
    const inner = isObject(value.value) ? value.value : {};
    return unwrapTypedStructs({ "@type": value.type_url.includes("/") ? value.type_url : TYPE_PREFIX + value.type_url, ...(inner as JsonObject) });
  }
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) out[k] = unwrapTypedStructs(v as JsonValue);
  return out;
}

/**
 * Istio's deprecated `config` (a Struct next to the filter name, from Envoy
 * v2) becomes `typed_config` when the filter name tells the type. For a MERGE
 * into an existing filter the type comes from that filter instead, so the
 * Struct is kept aside (`rawConfig`) and resolved when the filter is found.
 */
function liftDeprecatedConfig(applyTo: ApplyTo, value: JsonObject): { value: JsonObject; rawConfig?: JsonObject; error?: string } {
  if (!("config" in value) || !["NETWORK_FILTER", "HTTP_FILTER", "LISTENER_FILTER"].includes(applyTo)) return { value };
  const { config, ...rest } = value;
  if (!isObject(config)) return { value, error: "config must be a map (or use typed_config with an @type)" };
  if ("typed_config" in rest) return { value, error: "set either typed_config or the deprecated config, not both" };
  const name = typeof rest.name === "string" ? rest.name : "";
  const type = typeOfFilterName(name);
  if (type) return { value: { ...rest, typed_config: { "@type": TYPE_PREFIX + type, ...(config as JsonObject) } } };
  return { value: rest, rawConfig: config as JsonObject };
}

export interface CanonicalValue {
  value: JsonObject;
  /** The deprecated `config` Struct of a filter whose type is only known from the filter it merges into. */
  rawConfig?: JsonObject;
}

/** Throws an Error that names the field at fault and what to write instead. */
export function canonicalValue(applyTo: ApplyTo, value: JsonObject): CanonicalValue {
  const schema = SCHEMA_OF[applyTo];
  if (!schema) return { value };
  const lifted = liftDeprecatedConfig(applyTo, value);
  if (lifted.error) throw new Error(lifted.error);
  let message;
  try {
    message = fromEnvoyJson(schema, unwrapTypedStructs(lifted.value));
  } catch (err) {
    const reason = (err as Error).message;
    const hint = /\.v2\./.test(reason)
      ? " (Envoy v2 types are gone: use the v3 type)"
      : /not in the type registry/.test(reason)
        ? " (Weft's xDS registry, @weft/xds-api, does not carry this extension's protos yet: it can only be used once they are added there)"
        : "";
    throw new Error(`is not a valid ${schema.typeName} for applyTo ${applyTo}: ${reason}${hint}`, { cause: err });
  }
  const canonical = toEnvoyJson(schema, message) as JsonObject;
  return lifted.rawConfig ? { value: canonical, rawConfig: lifted.rawConfig } : { value: canonical };
}

/** The deprecated `config` of a MERGE value, typed as the filter it merges into (undefined when that type is unknown). */
export function typedRawConfig(rawConfig: JsonObject, existingTypeUrl: string): JsonObject | undefined {
  const schema = findMessage(existingTypeUrl);
  if (!schema) return undefined;
  const parsed = fromEnvoyJson(schema, unwrapTypedStructs(rawConfig));
  return { "@type": existingTypeUrl, ...(toEnvoyJson(schema, parsed) as JsonObject) };
}
