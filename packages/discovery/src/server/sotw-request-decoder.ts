// Decoding SotW DiscoveryRequests without re-decoding the subscription every
// time. Envoy repeats every subscribed name in every request (an EDS ACK from
// a sidecar of a 500-service mesh carries 500 cluster names, ~25 KB), and
// nearly every request is an ACK repeating the previous list byte for byte.
// Decoding those names (a UTF-8 decode and a fresh string each) and then
// hashing the fresh strings to compare them with the subscription was most of
// discovery's CPU after a push to a thousand SotW proxies.
//
// So, per stream: the encoded `resource_names` run of a recent request is
// kept with its decoded array; a request whose run is the same bytes gets the
// same strings back (already hashed, so the subscription check is cheap) and
// only its other fields are decoded. The result is the message fromBinary
// would produce: same field values.
import { fromBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { DiscoveryRequestSchema, type DiscoveryRequest } from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb.js";

const RESOURCE_NAMES = 3;
/** Runs shorter than this are cheaper to decode than to remember. */
const MIN_RUN_BYTES = 256;
/** Distinct runs remembered per stream (one per watched type with a long list is plenty). */
const MAX_RUNS = 4;

interface KnownRun {
  bytes: Uint8Array;
  names: readonly string[];
}

/** Position after the last varint read (module state keeps the walk allocation-free). */
let after = 0;

/** Reads a varint at `pos` and sets `after`; -1 past the end or beyond 2^56. */
function varint(bytes: Uint8Array, pos: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8 && pos < bytes.length; i++) {
    const b = bytes[pos++];
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      after = pos;
      return value;
    }
    scale *= 128;
  }
  return -1;
}

/**
 * Where the `resource_names` entries sit: one contiguous byte range, or
 * undefined when absent, split by other fields, or not well-formed (then
 * fromBinary decodes, or reports, the whole thing). Walks tags and lengths
 * only, allocating nothing: this runs for every request.
 */
function namesRange(bytes: Uint8Array): [number, number] | undefined {
  let start = -1;
  let end = -1;
  let pos = 0;
  while (pos < bytes.length) {
    const at = pos;
    const tag = varint(bytes, pos);
    if (tag < 0) return undefined;
    pos = after;
    const wireType = tag & 7;
    if (wireType === WireType.Varint) {
      if (varint(bytes, pos) < 0) return undefined;
      pos = after;
    } else if (wireType === WireType.Bit64) pos += 8;
    else if (wireType === WireType.Bit32) pos += 4;
    else if (wireType === WireType.LengthDelimited) {
      const len = varint(bytes, pos);
      if (len < 0) return undefined;
      pos = after + len;
    } else return undefined; // groups: not in this message
    if (pos > bytes.length) return undefined;
    if (tag !== (RESOURCE_NAMES << 3) + WireType.LengthDelimited) continue;
    if (start < 0) start = at;
    else if (end !== at) return undefined; // interleaved with other fields: not worth special-casing
    end = pos;
  }
  return start < 0 ? undefined : [start, end];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

/** A decoder for one stream's requests (it remembers that stream's recent subscriptions). */
export function createSotwRequestDecoder(): (bytes: Uint8Array) => DiscoveryRequest {
  const known: KnownRun[] = [];
  return (bytes) => {
    const range = namesRange(bytes);
    if (!range || range[1] - range[0] < MIN_RUN_BYTES) return fromBinary(DiscoveryRequestSchema, bytes);
    const run = bytes.subarray(range[0], range[1]);
    const hit = known.find((k) => sameBytes(run, k.bytes));
    if (hit) {
      const rest = new Uint8Array(bytes.length - run.length);
      rest.set(bytes.subarray(0, range[0]), 0);
      rest.set(bytes.subarray(range[1]), range[0]);
      const request = fromBinary(DiscoveryRequestSchema, rest);
      request.resourceNames = hit.names.slice();
      return request;
    }
    const request = fromBinary(DiscoveryRequestSchema, bytes);
    known.unshift({ bytes: run.slice(), names: request.resourceNames.slice() });
    if (known.length > MAX_RUNS) known.pop();
    return request;
  };
}
