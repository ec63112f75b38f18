import { fromJson, toJson, type DescMessage, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { createRequire } from "node:module";
import type * as Yaml from "yaml";
import { XdsError } from "../errors.js";
import { xdsRegistry } from "../registry.js";

// yaml (CommonJS) is required on first use: bootstraps are JSON in Istio
// (envoy-rev.json) and xDS is binary, so most processes never parse YAML and
// need not load it at startup.
let yamlModule: typeof Yaml | undefined;
const yaml = (): typeof Yaml => (yamlModule ??= createRequire(import.meta.url)("yaml") as typeof Yaml);

export interface ReadOptions {
  /** Like Envoy's --allow-unknown-static-fields: skip unknown fields instead of failing. */
  ignoreUnknownFields?: boolean;
}

export interface WriteOptions {
  /** Envoy's admin output uses proto field names (snake_case); set false for lowerCamelCase. */
  useProtoFieldName?: boolean;
}

/**
 * Reads proto3 JSON the way Envoy does: snake_case and lowerCamelCase field
 * names both accepted, `Any` (typed_config…) resolved through the registry of
 * every generated message, durations as "1.5s".
 */
export function fromEnvoyJson<Desc extends DescMessage>(schema: Desc, json: JsonValue, options: ReadOptions = {}): MessageShape<Desc> {
  try {
    return fromJson(schema, json, { registry: xdsRegistry, ignoreUnknownFields: options.ignoreUnknownFields ?? false });
  } catch (cause) {
    throw new XdsError("invalid_json", `${schema.typeName}: ${(cause as Error).message}`, undefined, { cause });
  }
}

/** Writes proto3 JSON as Envoy's admin API does: proto field names, defaults omitted, `Any` with `@type`. */
export function toEnvoyJson<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>, options: WriteOptions = {}): JsonValue {
  return toJson(schema, message, { registry: xdsRegistry, useProtoFieldName: options.useProtoFieldName ?? true });
}

/** Reads a JSON or YAML document (Envoy accepts either for `-c`). */
export function parseEnvoyText(text: string, fileName = "<config>"): JsonValue {
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return JSON.parse(text) as JsonValue;
    } catch (cause) {
      throw new XdsError("invalid_json", `${fileName}: ${(cause as Error).message}`, undefined, { cause });
    }
  }
  try {
    return (yaml().parse(text, { version: "1.2", merge: true }) ?? {}) as JsonValue;
  } catch (cause) {
    throw new XdsError("invalid_yaml", `${fileName}: ${(cause as Error).message}`, undefined, { cause });
  }
}

/** Reads JSON or YAML text into a message. */
export function readEnvoyText<Desc extends DescMessage>(schema: Desc, text: string, options: ReadOptions & { fileName?: string } = {}): MessageShape<Desc> {
  return fromEnvoyJson(schema, parseEnvoyText(text, options.fileName), options);
}

/** Writes a message as YAML (for `-o yaml` and debug pages). */
export function toEnvoyYaml<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>, options: WriteOptions = {}): string {
  return yaml().stringify(toEnvoyJson(schema, message, options));
}
