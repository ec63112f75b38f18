// packAny on its own: what a process that only writes Any needs (weft-agent's SDS). Importing it
// from here, not from the package index, keeps the registry and its 180 embedded descriptors
// (gen/registry-index.ts, ≈ 370 KB of base64) out of that process.
import { create, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { AnySchema, type Any } from "@bufbuild/protobuf/wkt";
import { typeUrlOf } from "./type-urls.js";

/** Packs a message into an `Any` with its `type.googleapis.com/` URL. */
export function packAny<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Any {
  return create(AnySchema, { typeUrl: typeUrlOf(schema), value: toBinary(schema, message) });
}
