// Compares an Envoy JSON document with what @weft/xds-api wrote back for it,
// walking the message descriptor alongside. "Equivalent" is what Envoy itself
// treats as the same config: field names in snake_case or lowerCamelCase,
// durations in any valid spelling ("0.250s" == "0.25s"), 64-bit integers as
// numbers or strings, and fields set to their proto3 default (false, 0, "",
// [], {}, the zero enum name) present or absent. Struct and map keys are data
// and compared verbatim.
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { findMessage } from "../registry.js";

type Json = unknown;

function isEmpty(value: Json): boolean {
  if (value === false || value === 0 || value === "" || value === null || value === "0") return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object" && value) return Object.keys(value).length === 0;
  return false;
}

function isDefault(field: DescField | undefined, value: Json): boolean {
  if (field?.fieldKind === "enum" && typeof value === "string") return value === field.enum.values[0]?.name;
  if (field?.fieldKind === "message") return false; // a set empty message is still set
  return isEmpty(value);
}

function durationSeconds(value: string): number | undefined {
  const m = /^(-?\d+(?:\.\d+)?)s$/.exec(value);
  return m ? Number(m[1]) : undefined;
}

function scalarsEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a === "string" && typeof b === "string") {
    const da = durationSeconds(a);
    return da !== undefined && da === durationSeconds(b);
  }
  if ((typeof a === "number" || typeof a === "string") && (typeof b === "number" || typeof b === "string")) {
    return String(a) !== "" && Number(a) === Number(b);
  }
  return false;
}

function fieldByJsonKey(schema: DescMessage, key: string): DescField | undefined {
  return schema.fields.find((f) => f.name === key || f.jsonName === key);
}

const VERBATIM = new Set(["google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"]);

/** Lists the differences (as `path: reason`) between an original document and its round trip through `schema`. */
export function jsonDifferences(schema: DescMessage | undefined, original: Json, written: Json, path = ""): string[] {
  if (schema?.typeName === "google.protobuf.Any" && original && typeof original === "object") {
    const type = (original as Record<string, unknown>)["@type"];
    const inner = typeof type === "string" ? findMessage(type) : undefined;
    return messageDifferences(inner, original as Record<string, Json>, written, path, true);
  }
  if (original !== null && typeof original === "object" && !Array.isArray(original) && schema && !VERBATIM.has(schema.typeName)) {
    return messageDifferences(schema, original as Record<string, Json>, written, path, false);
  }
  return valueDifferences(original, written, path);
}

function messageDifferences(schema: DescMessage | undefined, original: Record<string, Json>, written: Json, path: string, isAny: boolean): string[] {
  if (typeof written !== "object" || written === null || Array.isArray(written)) {
    return Object.keys(original).length === 0 && written === undefined ? [] : [`${path}: object became ${JSON.stringify(written)}`];
  }
  const out = written as Record<string, Json>;
  const diffs: string[] = [];
  const matched = new Set<string>();
  for (const [key, value] of Object.entries(original)) {
    if (isAny && key === "@type") {
      matched.add(key);
      if (out[key] !== value) diffs.push(`${path}.@type: ${String(value)} became ${String(out[key])}`);
      continue;
    }
    const field = schema ? fieldByJsonKey(schema, key) : undefined;
    if (schema && !field) {
      diffs.push(`${path}.${key}: not a field of ${schema.typeName}`);
      continue;
    }
    // Well-known wrapper-ish messages (Duration, Timestamp, wrappers) are JSON scalars.
    const name = field ? field.name : key;
    matched.add(name);
    if (!(name in out)) {
      if (!isDefault(field, value)) diffs.push(`${path}.${name}: missing after round trip`);
      continue;
    }
    diffs.push(...fieldDifferences(field, value, out[name], `${path}.${name}`));
  }
  for (const key of Object.keys(out)) if (!matched.has(key)) diffs.push(`${path}.${key}: added by round trip`);
  return diffs;
}

function fieldDifferences(field: DescField | undefined, original: Json, written: Json, path: string): string[] {
  if (!field) return valueDifferences(original, written, path);
  if (field.fieldKind === "list") {
    if (!Array.isArray(original) || !Array.isArray(written)) return valueDifferences(original, written, path);
    if (original.length !== written.length) return [`${path}: ${original.length} items became ${written.length}`];
    const item = field.listKind === "message" ? field.message : undefined;
    return original.flatMap((v, i) => jsonDifferences(item, v, written[i], `${path}[${i}]`));
  }
  if (field.fieldKind === "map") {
    if (!original || typeof original !== "object" || !written || typeof written !== "object") return valueDifferences(original, written, path);
    const value = field.mapKind === "message" ? field.message : undefined;
    const out = written as Record<string, Json>;
    const diffs = Object.entries(original as Record<string, Json>).flatMap(([k, v]) => jsonDifferences(value, v, out[k], `${path}[${k}]`));
    for (const k of Object.keys(out)) if (!(k in (original as object))) diffs.push(`${path}[${k}]: added by round trip`);
    return diffs;
  }
  if (field.fieldKind === "message") return jsonDifferences(field.message, original, written, path);
  return valueDifferences(original, written, path);
}

function valueDifferences(original: Json, written: Json, path: string): string[] {
  if (original !== null && typeof original === "object") {
    if (JSON.stringify(normalize(original)) === JSON.stringify(normalize(written))) return [];
    return [`${path}: ${JSON.stringify(original).slice(0, 120)} became ${JSON.stringify(written)?.slice(0, 120)}`];
  }
  if (written === undefined) return isEmpty(original) ? [] : [`${path}: ${JSON.stringify(original)} dropped`];
  return scalarsEqual(original, written) ? [] : [`${path}: ${JSON.stringify(original)} became ${JSON.stringify(written)}`];
}

function normalize(value: Json): Json {
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value as Record<string, Json>).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, normalize(v)]));
  }
  return value;
}
