import { fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { XdsError } from "./errors.js";
import { findMessage } from "./registry.js";
import { typeNameOf } from "./type-urls.js";

export { packAny } from "./pack-any.js";

/** The schema for an `Any`'s type URL, or an XdsError naming the unknown type. */
export function schemaOfAny(any: Any): DescMessage {
  const schema = findMessage(any.typeUrl);
  if (!schema) throw new XdsError("unknown_type", `unknown type ${JSON.stringify(any.typeUrl)}: not an Envoy, xDS or Istio message Weft knows`);
  return schema;
}

/** Unpacks an `Any` to its real type through the registry of every generated message. */
export function unpackAny(any: Any): { schema: DescMessage; message: MessageShape<DescMessage> };
/** Unpacks an `Any` that must be of the given type. */
export function unpackAny<Desc extends DescMessage>(any: Any, expected: Desc): MessageShape<Desc>;
export function unpackAny(any: Any, expected?: DescMessage): unknown {
  const schema = expected ?? schemaOfAny(any);
  if (expected && typeNameOf(any.typeUrl) !== expected.typeName) {
    throw new XdsError("invalid_any", `expected ${expected.typeName}, got ${JSON.stringify(any.typeUrl)}`);
  }
  let message;
  try {
    message = fromBinary(schema, any.value);
  } catch (cause) {
    throw new XdsError("invalid_any", `${schema.typeName}: cannot decode Any payload: ${(cause as Error).message}`, undefined, { cause });
  }
  return expected ? message : { schema, message };
}
