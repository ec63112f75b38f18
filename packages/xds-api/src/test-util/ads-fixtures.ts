import { create } from "@bufbuild/protobuf";
import { NodeSchema } from "../gen/envoy/config/core/v3/base_pb.js";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { packAny } from "../any.js";
import type { ResourceSnapshot, VersionedResource } from "../ads/resources.js";

export const testNode = create(NodeSchema, { id: "sidecar~10.0.0.1~a.ns~ns.svc.cluster.local", cluster: "a.ns" });

/** A CDS snapshot: each entry is `name` or `name@version` (the content version). */
export function clusters(version: string, ...entries: string[]): ResourceSnapshot {
  const resources = new Map<string, VersionedResource>();
  for (const entry of entries) {
    const [name, v = "1"] = entry.split("@");
    const cluster = create(ClusterSchema, { name, altStatName: v });
    resources.set(name, { name, version: v, resource: packAny(ClusterSchema, cluster) });
  }
  return { version, resources };
}

export function assignments(version: string, ...names: string[]): ResourceSnapshot {
  const resources = new Map<string, VersionedResource>();
  for (const name of names) {
    resources.set(name, { name, version, resource: packAny(ClusterLoadAssignmentSchema, create(ClusterLoadAssignmentSchema, { clusterName: name })) });
  }
  return { version, resources };
}
