import type { DescMessage } from "@bufbuild/protobuf";
import { xdsRegistry } from "@weft/xds-api";

// Well-known types whose JSON form is not an object of their fields.
const OPAQUE_JSON = new Set([
  "google.protobuf.Struct",
  "google.protobuf.Value",
  "google.protobuf.ListValue",
  "google.protobuf.Duration",
  "google.protobuf.Timestamp",
  "google.protobuf.FieldMask",
  "google.protobuf.Empty",
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Lists the JSON keys that name no field of the message (at any depth, through
 * `typed_config` Anys), as Envoy paths: `admin.bogus`, `static_resources.listeners[0].bogus`.
 * Envoy rejects these unless --allow-unknown-static-fields; we need the list to say which.
 */
export function findUnknownFields(schema: DescMessage, json: unknown, path = ""): string[] {
  const out: string[] = [];
  walk(schema, json, path, out);
  return out;
}

function walk(schema: DescMessage, json: unknown, path: string, out: string[]): void {
  if (!isObject(json)) return;
  if (schema.typeName === "google.protobuf.Any") {
    const typeUrl = json["@type"];
    if (typeof typeUrl !== "string") return;
    const inner = xdsRegistry.getMessage(typeUrl.slice(typeUrl.lastIndexOf("/") + 1));
    if (!inner) return; // an unknown type is reported when the Any is unpacked
    if (OPAQUE_JSON.has(inner.typeName)) return;
    const { "@type": _ignored, ...rest } = json;
    walk(inner, rest, path, out);
    return;
  }
  if (OPAQUE_JSON.has(schema.typeName)) return;
  for (const [key, value] of Object.entries(json)) {
    const field = schema.fields.find((f) => f.name === key || f.jsonName === key);
    const here = path ? `${path}.${key}` : key;
    if (!field) {
      out.push(here);
      continue;
    }
    if (field.fieldKind === "message") walk(field.message, value, here, out);
    else if (field.fieldKind === "list" && field.listKind === "message" && Array.isArray(value)) {
      value.forEach((item, i) => walk(field.message, item, `${here}[${i}]`, out));
    } else if (field.fieldKind === "map" && field.mapKind === "message" && isObject(value)) {
      for (const [k, v] of Object.entries(value)) walk(field.message, v, `${here}["${k}"]`, out);
    }
  }
}
