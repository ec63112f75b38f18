// One push sends the same resources to many proxies. protobuf-es would
// re-encode every Any (type URL string and payload) for every proxy; instead
// each Any is encoded once (memoized on the shared object the cache hands
// out) and a response carries its resources as one pre-encoded run of
// `repeated Any resources = 2` entries, which toBinary copies verbatim
// (it writes `$unknown` fields as tag + raw bytes). On the wire this is
// byte-for-byte what encoding `resources` would produce. (go-control-plane
// and istiod cache marshaled resources for the same reason.)
import { toBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { AnySchema, type Any } from "@bufbuild/protobuf/wkt";
import { namesKey } from "../cache/config-cache.js";
import { DiscoveryResponseSchema, type DiscoveryResponse } from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb.js";

const RESOURCES_FIELD = 2;
const TAG = (RESOURCES_FIELD << 3) | WireType.LengthDelimited;
const encodedAny = new WeakMap<Any, Uint8Array>();
/** snapshot → subscription key → encoded run. */
const runs = new WeakMap<object, Map<string, { count: number; data: Uint8Array }>>();

function encodeOnce(any: Any): Uint8Array {
  let bytes = encodedAny.get(any);
  if (!bytes) encodedAny.set(any, (bytes = toBinary(AnySchema, any)));
  return bytes;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n >>>= 7;
    size++;
  }
  return size;
}

function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

function encodeRun(resources: readonly Any[]): Uint8Array {
  const encoded = resources.map(encodeOnce);
  // protobuf-es writes the first tag itself; every further entry carries its own (one byte: field 2, LEN).
  let size = 0;
  for (const e of encoded) size += varintSize(e.length) + e.length + 1;
  const data = new Uint8Array(size - 1);
  let pos = 0;
  encoded.forEach((e, i) => {
    if (i > 0) data[pos++] = TAG;
    pos = writeVarint(data, pos, e.length);
    data.set(e, pos);
    pos += e.length;
  });
  return data;
}

/**
 * Moves `response.resources` into one pre-encoded unknown-field run; returns
 * the same message. With `shared` (the snapshot and subscription the
 * response answers) the run is built once and reused for every proxy that
 * gets the same resources; the order may then be another proxy's, which xDS
 * does not care about.
 */
export function preEncodeResources(response: DiscoveryResponse, shared?: { snapshot: object; names: readonly string[] | "*" }): DiscoveryResponse {
  const resources = response.resources;
  if (resources.length === 0) return response;
  let data: Uint8Array | undefined;
  if (shared) {
    let bySubscription = runs.get(shared.snapshot);
    if (!bySubscription) runs.set(shared.snapshot, (bySubscription = new Map()));
    const key = shared.names === "*" ? "*" : namesKey(shared.names);
    const run = bySubscription.get(key);
    if (run && run.count === resources.length) data = run.data;
    else bySubscription.set(key, { count: resources.length, data: (data = encodeRun(resources)) });
  } else data = encodeRun(resources);
  response.resources = [];
  response.$unknown = [...(response.$unknown ?? []), { no: RESOURCES_FIELD, wireType: WireType.LengthDelimited, data }];
  return response;
}

/**
 * The wire bytes of a response as chunks to write one after the other: the
 * small per-proxy part (version, type, nonce), then the shared resources run
 * as is. toBinary would copy the run (hundreds of KB for a full CDS) into a
 * fresh buffer for every proxy; written as its own chunk it is never copied,
 * and a thousand streams hold one buffer. Fields may come in any order on the
 * wire (protobuf encoding), so the run goes last.
 */
export function encodeSotwResponse(response: DiscoveryResponse): Uint8Array[] {
  const unknown = response.$unknown ?? [];
  const i = unknown.findIndex((f) => f.no === RESOURCES_FIELD && f.wireType === WireType.LengthDelimited);
  if (i < 0) return [toBinary(DiscoveryResponseSchema, response)];
  const run = unknown[i].data;
  const rest = unknown.filter((_, j) => j !== i);
  response.$unknown = rest.length ? rest : undefined;
  const small = toBinary(DiscoveryResponseSchema, response);
  response.$unknown = unknown;
  // The run leaves out its first tag (protobuf-es writes it for unknown fields): add it here.
  const head = new Uint8Array(small.length + 1);
  head.set(small);
  head[small.length] = TAG;
  return [head, run];
}
