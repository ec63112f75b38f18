// CLUSTER patches, as istiod's ApplyClusterMerge / InsertedClusters: a
// matching REMOVE drops the cluster, MERGEs merge in order (a transport
// socket of the same name merges only its typed_config), and ADDs append
// per context — an ADD with context ANY only to outbound and gateway
// clusters, never as an inbound one.
import type { JsonObject } from "@bufbuild/protobuf";
import { ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { isObject } from "../source/field-checker.js";
import { mergeTransportSocket } from "./apply-listener.js";
import { clusterMatch } from "./match.js";
import { assignAll, cloneJson, mergeAny, mergeMessage } from "./merge.js";
import { contextMatches, type PatchSet, type ResourceContext } from "./types.js";

/**
 * With transport_socket_matches in place, a transport socket merges into the
 * match whose socket has its name, or is dropped (a cluster cannot have both).
 */
function mergeClusterTransportSocket(cluster: JsonObject, value: JsonObject): boolean {
  const incoming = value.transport_socket;
  if (!isObject(incoming)) return false;
  const matches = (Array.isArray(cluster.transport_socket_matches) ? cluster.transport_socket_matches.filter(isObject) : []) as JsonObject[];
  if (matches.length === 0) {
    if (mergeTransportSocket(cluster, value)) return true;
    cluster.transport_socket = cloneJson(incoming);
    return true;
  }
  const target = matches.map((m) => m.transport_socket).find((ts) => isObject(ts) && ts.name === incoming.name) as JsonObject | undefined;
  if (target && isObject(target.typed_config) && isObject(incoming.typed_config)) target.typed_config = mergeAny(target.typed_config, incoming.typed_config);
  return true;
}

export interface ClusterPatchOptions {
  proxyType: "sidecar" | "router";
  inboundHosts: (port: number) => readonly string[];
}

export function clusterContext(name: string, proxyType: "sidecar" | "router"): ResourceContext {
  if (proxyType === "router") return "GATEWAY";
  return name.startsWith("inbound|") || name === "InboundPassthroughCluster" ? "SIDECAR_INBOUND" : "SIDECAR_OUTBOUND";
}

/** Patches copies of `clusters` (mutating them) and returns the survivors plus the adds. */
export function patchClusters(set: PatchSet, clusters: JsonObject[], options: ClusterPatchOptions): JsonObject[] {
  const patches = set.get("CLUSTER") ?? [];
  const out: JsonObject[] = [];
  for (const cluster of clusters) {
    const ctx = clusterContext(String(cluster.name ?? ""), options.proxyType);
    let removed = false;
    for (const p of patches) {
      if (!contextMatches(p, ctx) || !clusterMatch(cluster, p, options.inboundHosts)) continue;
      if (p.operation === "REMOVE") {
        removed = true;
        break;
      }
      if (p.operation === "MERGE" && !mergeClusterTransportSocket(cluster, p.value ?? {})) assignAll(cluster, mergeMessage(ClusterSchema, cluster, p.value ?? {}));
    }
    if (!removed) out.push(cluster);
  }
  const contexts: ResourceContext[] = options.proxyType === "router" ? ["GATEWAY"] : ["SIDECAR_OUTBOUND", "SIDECAR_INBOUND"];
  for (const ctx of contexts) {
    for (const p of patches) {
      if (p.operation !== "ADD" || !contextMatches(p, ctx)) continue;
      if (p.context === "ANY" && ctx === "SIDECAR_INBOUND") continue;
      out.push(cloneJson(p.value ?? {}));
    }
  }
  return out;
}
