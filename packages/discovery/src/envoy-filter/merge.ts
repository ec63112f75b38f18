// Protobuf merge (what istiod's EnvoyFilter MERGE does with
// istio.io/istio/pkg/proto/merge) on canonical Envoy JSON, guided by the
// message descriptors: nested messages merge, repeated fields append, map
// entries are replaced per key, scalars replace, setting one member of a
// oneof clears the others, and Durations and other well-known types replace
// (istio's fix for golang/protobuf#1359). An Any with the same `@type` on
// both sides merges field-wise as its inner message; a different `@type`
// replaces it.
import type { DescField, DescMessage, JsonObject, JsonValue } from "@bufbuild/protobuf";
import { findMessage } from "@weft/xds-api";
import { isObject } from "../source/field-checker.js";

const ANY = "google.protobuf.Any";
const STRUCT = "google.protobuf.Struct";

const fieldsByName = new WeakMap<DescMessage, Map<string, DescField>>();

function fieldOf(desc: DescMessage, key: string): DescField | undefined {
  let byName = fieldsByName.get(desc);
  if (!byName) {
    byName = new Map();
    for (const f of desc.fields) {
      byName.set(f.name, f);
      byName.set(f.jsonName, f);
    }
    fieldsByName.set(desc, byName);
  }
  return byName.get(key);
}

export function cloneJson<T extends JsonValue>(value: T): T {
  return structuredClone(value);
}

/** Makes `target` hold exactly `src`'s fields (a merge can clear oneof members). */
export function assignAll(target: JsonObject, src: JsonObject): void {
  for (const key of Object.keys(target)) if (!(key in src)) delete target[key];
  Object.assign(target, src);
}

/** Merges `src` into a copy of `dst` as `desc` messages; neither argument is modified. */
export function mergeMessage(desc: DescMessage, dst: JsonObject, src: JsonObject): JsonObject {
  const out: JsonObject = { ...dst };
  for (const [key, value] of Object.entries(src)) {
    const field = fieldOf(desc, key);
    if (!field) {
      out[key] = cloneJson(value as JsonValue);
      continue;
    }
    if (field.oneof) {
      for (const member of field.oneof.fields) if (member !== field) delete out[member.name];
    }
    out[field.name] = mergeField(field, out[field.name] as JsonValue | undefined, value as JsonValue);
  }
  return out;
}

function mergeField(field: DescField, dst: JsonValue | undefined, src: JsonValue): JsonValue {
  switch (field.fieldKind) {
    case "list":
      return [...(Array.isArray(dst) ? dst : []), ...cloneJson(Array.isArray(src) ? src : [src])];
    case "map":
      return { ...(isObject(dst) ? (dst as JsonObject) : {}), ...cloneJson(isObject(src) ? (src as JsonObject) : {}) };
    case "message": {
      const name = field.message.typeName;
      if (name === ANY) return mergeAny(dst, src);
      // A Struct is map<string, Value>: its keys replace, as map entries do.
      if (name === STRUCT && isObject(dst) && isObject(src)) return { ...(dst as JsonObject), ...cloneJson(src as JsonObject) };
      if (name.startsWith("google.protobuf.") || !isObject(dst) || !isObject(src)) return cloneJson(src);
      return mergeMessage(field.message, dst as JsonObject, src as JsonObject);
    }
    default:
      return cloneJson(src);
  }
}

/** Two `Any`s in Envoy JSON (`{"@type": …, …fields}`): same type → field-wise merge, else `src` replaces. */
export function mergeAny(dst: JsonValue | undefined, src: JsonValue): JsonValue {
  if (!isObject(dst) || !isObject(src) || dst["@type"] !== src["@type"] || typeof src["@type"] !== "string") return cloneJson(src);
  const inner = findMessage(src["@type"]);
  // Well-known types packed in an Any are written as {"@type", "value"}: replace those.
  if (!inner || inner.typeName.startsWith("google.protobuf.")) return cloneJson(src);
  const { "@type": type, ...dstFields } = dst as JsonObject;
  const { "@type": _ignored, ...srcFields } = src as JsonObject;
  return { "@type": type, ...mergeMessage(inner, dstFields, srcFields) };
}
