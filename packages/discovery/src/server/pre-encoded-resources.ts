// One push sends the same resources to many proxies. protobuf-es would
// re-encode every Any (type URL string and payload) for every proxy; instead
// each Any is encoded once (memoized on the shared object the cache hands
// out) and a response carries its resources as one pre-encoded run of
// `repeated Any resources = 2` entries, which toBinary copies verbatim
// (it writes `$unknown` fields as tag + raw bytes). On the wire this is
// byte-for-byte what encoding `resources` would produce. (go-control-plane
// and istiod cache marshaled resources for the same reason.)
import { toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { AnySchema, type Any } from "@bufbuild/protobuf/wkt";
import type { DiscoveryResponse } from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb.js";

const RESOURCES_FIELD = 2;
const encodedAny = new WeakMap<Any, Uint8Array>();

function encodeOnce(any: Any): Uint8Array {
  let bytes = encodedAny.get(any);
  if (!bytes) encodedAny.set(any, (bytes = toBinary(AnySchema, any)));
  return bytes;
}

/** Moves `response.resources` into one pre-encoded unknown-field run; returns the same message. */
export function preEncodeResources(response: DiscoveryResponse): DiscoveryResponse {
  const resources = response.resources;
  if (resources.length === 0) return response;
  const writer = new BinaryWriter();
  resources.forEach((any, i) => {
    // protobuf-es writes the first tag itself; every further entry carries its own.
    if (i > 0) writer.tag(RESOURCES_FIELD, WireType.LengthDelimited);
    writer.bytes(encodeOnce(any));
  });
  response.resources = [];
  response.$unknown = [...(response.$unknown ?? []), { no: RESOURCES_FIELD, wireType: WireType.LengthDelimited, data: writer.finish() }];
  return response;
}
