// Istio's HTTP metadata exchange: a sidecar tells its peer who it is in two
// headers, `x-envoy-peer-metadata-id` (its node id) and `x-envoy-peer-metadata`
// (base64 of a serialized google.protobuf.Struct holding part of its node
// metadata). Envoy sidecars in the same mesh read and write the same bytes, so
// a Weft sidecar and an Istio one label each other's metrics alike.
//
// The own header is encoded once per process; a peer's header is decoded once
// per distinct value (a peer sends the same bytes on every request) and kept in
// a small bounded cache, so the data path does no protobuf work per request.
import { fromBinary, fromJson, toBinary, toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { StructSchema } from "@bufbuild/protobuf/wkt";

export const PEER_METADATA_HEADER = "x-envoy-peer-metadata";
export const PEER_METADATA_ID_HEADER = "x-envoy-peer-metadata-id";

/** Who a workload is, as Istio's standard metrics label it ("" when unknown). */
export interface WorkloadMetadata {
  readonly workloadName: string;
  readonly namespace: string;
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  readonly appName: string;
  readonly appVersion: string;
  readonly clusterId: string;
}

// The node metadata keys a sidecar shares (Istio's exchanged subset); LABELS is cut to the
// labels metrics read, so the header stays small whatever the pod's labels are.
const SHARED_KEYS = ["APP_CONTAINERS", "CLUSTER_ID", "INSTANCE_IPS", "ISTIO_VERSION", "MESH_ID", "NAME", "NAMESPACE", "OWNER", "PLATFORM_METADATA", "SERVICE_ACCOUNT", "WORKLOAD_NAME"];
const SHARED_LABELS = ["app", "version", "app.kubernetes.io/name", "app.kubernetes.io/version", "service.istio.io/canonical-name", "service.istio.io/canonical-revision"];

/** Peer values longer than this are ignored: a real one is a few hundred bytes. */
const MAX_HEADER_LENGTH = 8192;
const CACHE_SIZE = 256;

function str(v: JsonValue | undefined): string {
  return typeof v === "string" ? v : "";
}

function labelsOf(metadata: JsonObject): JsonObject {
  const l = metadata["LABELS"];
  return l !== null && typeof l === "object" && !Array.isArray(l) ? l : {};
}

/** The labels Istio's metrics read from node metadata (app falls back to app.kubernetes.io/name, as Istio's does). */
export function workloadMetadataOf(metadata: JsonObject): WorkloadMetadata {
  const labels = labelsOf(metadata);
  return {
    workloadName: str(metadata["WORKLOAD_NAME"]),
    namespace: str(metadata["NAMESPACE"]),
    canonicalName: str(labels["service.istio.io/canonical-name"]),
    canonicalRevision: str(labels["service.istio.io/canonical-revision"]),
    appName: str(labels["app"]) || str(labels["app.kubernetes.io/name"]),
    appVersion: str(labels["version"]) || str(labels["app.kubernetes.io/version"]),
    clusterId: str(metadata["CLUSTER_ID"]),
  };
}

/** The value of our own `x-envoy-peer-metadata`: base64 of the shared part of the node metadata as a Struct. */
export function encodePeerMetadata(metadata: JsonObject): string {
  const shared: JsonObject = {};
  for (const k of SHARED_KEYS) if (metadata[k] !== undefined) shared[k] = metadata[k];
  const labels = labelsOf(metadata);
  const keptLabels: JsonObject = {};
  for (const k of SHARED_LABELS) if (typeof labels[k] === "string") keptLabels[k] = labels[k];
  if (Object.keys(keptLabels).length > 0) shared["LABELS"] = keptLabels;
  return Buffer.from(toBinary(StructSchema, fromJson(StructSchema, shared))).toString("base64");
}

const cache = new Map<string, WorkloadMetadata | null>();

/**
 * A peer's `x-envoy-peer-metadata`, decoded; undefined when it is absent, too long, or not
 * base64 of a Struct (a peer that sends garbage is treated as unknown, never as an error).
 */
export function decodePeerMetadata(value: string | string[] | undefined): WorkloadMetadata | undefined {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_HEADER_LENGTH) return undefined;
  const hit = cache.get(value);
  if (hit !== undefined) return hit ?? undefined;
  let decoded: WorkloadMetadata | null = null;
  try {
    const json = toJson(StructSchema, fromBinary(StructSchema, Buffer.from(value, "base64")));
    if (json !== null && typeof json === "object" && !Array.isArray(json)) decoded = workloadMetadataOf(json);
  } catch {
    decoded = null;
  }
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(value, decoded);
  return decoded ?? undefined;
}

/**
 * An endpoint's `istio.workload` filter metadata, as istiod writes it into EDS:
 * `name;namespace;canonical-name;canonical-revision;cluster`. Istio's client side labels the
 * destination from it when the upstream sent no peer metadata (TCP, or a peer without a sidecar).
 */
export function endpointWorkloadOf(encoded: string | undefined): WorkloadMetadata | undefined {
  if (!encoded) return undefined;
  const parts = encoded.split(";");
  if (parts.length < 5) return undefined;
  return { workloadName: parts[0]!, namespace: parts[1]!, canonicalName: parts[2]!, canonicalRevision: parts[3]!, clusterId: parts[4]!, appName: "", appVersion: "" };
}

/** The namespace in a SPIFFE principal (`spiffe://td/ns/<ns>/sa/<sa>`), "" when it has none. */
export function namespaceOfPrincipal(principal: string): string {
  const at = principal.indexOf("/ns/");
  if (at < 0) return "";
  const start = at + 4;
  const end = principal.indexOf("/", start);
  return end < 0 ? principal.slice(start) : principal.slice(start, end);
}
