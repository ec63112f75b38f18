// Envoy JSON → XdsResource. Generators describe resources in Envoy's own JSON
// (the shape of a config_dump, so they read like the Istio dumps they are
// checked against) and this turns them into typed messages once: parsed with
// the xds-api registry (unknown fields are an error, so a typo fails a test),
// packed into an Any, versioned by a hash of the bytes.
import { toBinary, type DescMessage, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { createHash } from "node:crypto";
import { fromEnvoyJson, packAny } from "@weft/xds-api";
import type { XdsResource } from "../contracts.js";

export function toResource<Desc extends DescMessage>(schema: Desc, name: string, json: JsonValue): XdsResource {
  const message: MessageShape<Desc> = fromEnvoyJson(schema, json);
  return messageResource(schema, name, message);
}

export function messageResource<Desc extends DescMessage>(schema: Desc, name: string, message: MessageShape<Desc>): XdsResource {
  const any = packAny(schema, message);
  return { name, version: contentVersion(any.value), resource: any };
}

/** A short stable content hash (the same bytes give the same version across runs). */
export function contentVersion(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("base64url").slice(0, 16);
}

export { toBinary };
