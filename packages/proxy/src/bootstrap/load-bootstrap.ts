import { readFileSync } from "node:fs";
import { create, fromBinary, toBinary, type JsonValue } from "@bufbuild/protobuf";
import { fromEnvoyJson, parseEnvoyText, validateMessage, XdsError } from "@weft/xds-api";
import { BootstrapSchema, type Bootstrap } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb";
import { LocalitySchema, NodeSchema } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb";
import { findUnknownFields } from "./find-unknown-fields.js";

export class BootstrapError extends Error {
  override readonly name = "BootstrapError";
  constructor(
    message: string,
    /** The field at fault, as an Envoy path (`static_resources.listeners[0].address…`), when known. */
    readonly fieldPath?: string,
  ) {
    super(message);
  }
}

export interface BootstrapSource {
  configPath?: string;
  configYaml?: string;
  serviceNode?: string;
  serviceCluster?: string;
  serviceZone?: string;
  allowUnknownStaticFields?: boolean;
}

export interface LoadedBootstrap {
  bootstrap: Bootstrap;
  /** Unknown JSON fields skipped under --allow-unknown-static-fields. */
  unknownFields: string[];
}

function readDocument(text: string, name: string, allowUnknown: boolean, unknown: string[]): Bootstrap {
  let json: JsonValue;
  try {
    json = parseEnvoyText(text, name);
  } catch (err) {
    throw new BootstrapError(`${name}: cannot parse: ${(err as Error).message}`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new BootstrapError(`${name}: the bootstrap must be a JSON/YAML object`);
  const extra = findUnknownFields(BootstrapSchema, json);
  if (extra.length && !allowUnknown) {
    throw new BootstrapError(
      `${name}: unknown field${extra.length > 1 ? "s" : ""} ${extra.join(", ")} (Envoy rejects these too; --allow-unknown-static-fields skips them)`,
      extra[0],
    );
  }
  unknown.push(...extra.map((p) => `${name}: ${p}`));
  try {
    return fromEnvoyJson(BootstrapSchema, json, { ignoreUnknownFields: allowUnknown });
  } catch (err) {
    const message = err instanceof XdsError ? err.message : String(err);
    throw new BootstrapError(`${name}: ${message}`);
  }
}

/**
 * Loads the bootstrap as Envoy does: the -c file (JSON or YAML), then
 * --config-yaml merged over it with proto MergeFrom semantics (scalars
 * replaced, messages merged, repeated fields appended — exactly what
 * concatenating the two wire encodings does), then the --service-* overrides,
 * then the protos' validation rules. Throws BootstrapError naming the field.
 */
export function loadBootstrap(source: BootstrapSource): LoadedBootstrap {
  const unknownFields: string[] = [];
  const allow = source.allowUnknownStaticFields ?? false;
  let bootstrap = create(BootstrapSchema);
  if (source.configPath) {
    let text: string;
    try {
      text = readFileSync(source.configPath, "utf8");
    } catch (err) {
      throw new BootstrapError(`cannot read config '${source.configPath}': ${(err as Error).message}`);
    }
    bootstrap = readDocument(text, source.configPath, allow, unknownFields);
  }
  if (source.configYaml) {
    const overlay = readDocument(source.configYaml, "--config-yaml", allow, unknownFields);
    const a = toBinary(BootstrapSchema, bootstrap);
    const b = toBinary(BootstrapSchema, overlay);
    const merged = new Uint8Array(a.length + b.length);
    merged.set(a, 0);
    merged.set(b, a.length);
    bootstrap = fromBinary(BootstrapSchema, merged);
  }
  // --service-node / --service-cluster / --service-zone override the bootstrap's node.
  if (source.serviceNode || source.serviceCluster || source.serviceZone) {
    bootstrap.node ??= create(NodeSchema);
    if (source.serviceNode) bootstrap.node.id = source.serviceNode;
    if (source.serviceCluster) bootstrap.node.cluster = source.serviceCluster;
    if (source.serviceZone) {
      bootstrap.node.locality ??= create(LocalitySchema);
      bootstrap.node.locality.zone = source.serviceZone;
    }
  }
  const issues = validateMessage(BootstrapSchema, bootstrap);
  if (issues.length) {
    const first = issues[0]!;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more: ${issues.slice(1, 4).map((i) => i.path).join(", ")})` : "";
    throw new BootstrapError(`${first.path}: ${first.message}${more}`, first.path);
  }
  return { bootstrap, unknownFields };
}
