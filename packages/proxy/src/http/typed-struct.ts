// TypedStruct (udpa.type.v1 / xds.type.v3): a filter config written as JSON
// with the real type's URL beside it. Istio's EnvoyFilter examples (local rate
// limits, for one) configure filters this way, on the HCM and per route.
// Envoy converts the struct to the named message and hands it to that type's
// filter; so does this, when a filter is registered for the inner type and the
// message type is one the xDS registry knows. A struct that does not fit its
// type is a rejected config naming the field, as Envoy rejects it.
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { anyPack, anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { findMessage, xdsRegistry } from "@weft/xds-api";
import { TypedStructSchema as UdpaTypedStructSchema } from "@weft/xds-api/gen/udpa/type/v1/typed_struct_pb.js";
import { TypedStructSchema as XdsTypedStructSchema } from "@weft/xds-api/gen/xds/type/v3/typed_struct_pb.js";
import { ResourceRejectedError } from "../contracts.js";

export const UDPA_TYPED_STRUCT = "type.googleapis.com/udpa.type.v1.TypedStruct";
export const XDS_TYPED_STRUCT = "type.googleapis.com/xds.type.v3.TypedStruct";

/**
 * The config inside a TypedStruct as an Any of its own type, when `wanted(innerTypeUrl)` says a
 * filter takes it; otherwise the config unchanged (a filter may handle the TypedStruct itself).
 */
export function unwrapTypedStruct(config: Any, wanted: (typeUrl: string) => boolean, resource: string, field: string): Any {
  const schema = config.typeUrl === UDPA_TYPED_STRUCT ? UdpaTypedStructSchema : config.typeUrl === XDS_TYPED_STRUCT ? XdsTypedStructSchema : undefined;
  if (!schema) return config;
  const ts = anyUnpack(config, schema);
  if (!ts || !wanted(ts.typeUrl)) return config;
  const inner = findMessage(ts.typeUrl);
  if (!inner) return config;
  try {
    const message = fromJson(inner, (ts.value ?? {}) as JsonValue, { registry: xdsRegistry });
    return anyPack(inner, message);
  } catch (err) {
    throw new ResourceRejectedError(resource, `${field}.value`, `TypedStruct value is not a valid ${inner.typeName}: ${(err as Error).message}`);
  }
}
