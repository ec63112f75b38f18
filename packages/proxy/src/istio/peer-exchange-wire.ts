// Istio's in-band TCP metadata exchange on the wire (istio/proxy
// source/extensions/filters/network/metadata_exchange): once both ends of an
// mTLS connection negotiated the ALPN `istio-peer-exchange`, each sends, before
// any application byte,
//
//   magic 0x3D230467 (uint32, big-endian) | length (uint32, big-endian) |
//   `length` bytes: a google.protobuf.Any holding a google.protobuf.Struct
//     { "x-envoy-peer-metadata": { NAME, NAMESPACE, WORKLOAD_NAME, CLUSTER_ID,
//         LABELS: { service.istio.io/canonical-name, -revision, app, version },
//         OWNER },
//       "x-envoy-peer-metadata-id": <node id> }
//
// (convertWorkloadMetadataToStruct of the node metadata, serialized
// deterministically: map keys sorted). Older Istio releases sent their whole
// flat node metadata under the same key; the reader takes either.
//
// Our header is encoded once per node; a peer's payload is decoded once per
// distinct value (peers send the same bytes on every connection).
import { create, fromBinary, fromJson, toBinary, toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { AnySchema, StructSchema } from "@bufbuild/protobuf/wkt";
import { PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER, workloadMetadataOf, type WorkloadMetadata } from "./peer-metadata.js";

export const PEER_EXCHANGE_MAGIC = 0x3d230467;
export const PEER_EXCHANGE_HEADER_BYTES = 8;
const STRUCT_TYPE_URL = "type.googleapis.com/google.protobuf.Struct";
/** A peer's declared payload beyond this is not read (a real one is a few hundred bytes). */
export const MAX_PEER_EXCHANGE_PAYLOAD = 64 * 1024;

const OWNER_PREFIX = "kubernetes://apis/apps/v1/namespaces/";
const WORKLOAD_KINDS = new Set(["pod", "deployment", "job", "cronjob"]);

function str(v: JsonValue | undefined): string {
  return typeof v === "string" ? v : "";
}

/** Istio's parseOwner + owner(): the OWNER it sends back, rebuilt from the kind in the node's OWNER. */
function ownerOf(metadata: JsonObject, workload: string, namespace: string): string {
  const owner = str(metadata["OWNER"]);
  if (owner.length <= workload.length + 2) return "";
  const head = owner.slice(0, owner.length - workload.length - 2);
  const kind = head.slice(head.lastIndexOf("/") + 1);
  return WORKLOAD_KINDS.has(kind) ? `${OWNER_PREFIX}${namespace}/${kind}s/${workload}` : "";
}

/** Sorted keys, as protobuf's deterministic serialization writes a Struct's map. */
function sorted(o: Record<string, JsonValue>): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}

/** The peer metadata Istio's filter derives from a node's metadata (empty values left out). */
export function exchangedMetadataOf(metadata: JsonObject): JsonObject {
  const w = workloadMetadataOf(metadata);
  const labels: Record<string, JsonValue> = {};
  if (w.canonicalName) labels["service.istio.io/canonical-name"] = w.canonicalName;
  if (w.canonicalRevision) labels["service.istio.io/canonical-revision"] = w.canonicalRevision;
  if (w.appName) labels["app"] = w.appName;
  if (w.appVersion) labels["version"] = w.appVersion;
  const out: Record<string, JsonValue> = { LABELS: sorted(labels) };
  const name = str(metadata["NAME"]);
  if (name) out["NAME"] = name;
  if (w.namespace) out["NAMESPACE"] = w.namespace;
  if (w.workloadName) out["WORKLOAD_NAME"] = w.workloadName;
  if (w.clusterId) out["CLUSTER_ID"] = w.clusterId;
  const owner = ownerOf(metadata, w.workloadName, w.namespace);
  if (owner) out["OWNER"] = owner;
  return sorted(out);
}

/** The bytes this proxy sends first on an exchanging connection: header and payload. */
export function encodePeerExchange(node: { id: string; metadata: JsonObject }): Buffer {
  const fields: Record<string, JsonValue> = { [PEER_METADATA_HEADER]: exchangedMetadataOf(node.metadata) };
  if (node.id) fields[PEER_METADATA_ID_HEADER] = node.id;
  const value = toBinary(StructSchema, fromJson(StructSchema, sorted(fields)));
  const any = toBinary(AnySchema, create(AnySchema, { typeUrl: STRUCT_TYPE_URL, value }));
  const out = Buffer.allocUnsafe(PEER_EXCHANGE_HEADER_BYTES + any.length);
  out.writeUInt32BE(PEER_EXCHANGE_MAGIC, 0);
  out.writeUInt32BE(any.length, 4);
  out.set(any, PEER_EXCHANGE_HEADER_BYTES);
  return out;
}

const encoded = new WeakMap<object, Buffer>();

/** encodePeerExchange, once per node object. */
export function peerExchangeOf(node: { id: string; metadata: JsonObject }): Buffer {
  let b = encoded.get(node);
  if (!b) encoded.set(node, (b = encodePeerExchange(node)));
  return b;
}

const CACHE_SIZE = 256;
const cache = new Map<string, WorkloadMetadata | null>();

/** A peer's payload (the Any), decoded; undefined when it is not an Any of a Struct carrying peer metadata. */
export function decodePeerExchangePayload(payload: Uint8Array): WorkloadMetadata | undefined {
  const key = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("latin1");
  const hit = cache.get(key);
  if (hit !== undefined) return hit ?? undefined;
  let peer: WorkloadMetadata | null = null;
  try {
    const any = fromBinary(AnySchema, payload);
    if (any.typeUrl === STRUCT_TYPE_URL) {
      const outer = toJson(StructSchema, fromBinary(StructSchema, any.value)) as JsonObject;
      const md = outer[PEER_METADATA_HEADER];
      if (md !== null && typeof md === "object" && !Array.isArray(md)) peer = workloadMetadataOf(md);
    }
  } catch {
    peer = null;
  }
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(key, peer);
  return peer ?? undefined;
}
