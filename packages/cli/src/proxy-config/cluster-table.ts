import type { Cluster } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { Cluster_DiscoveryType } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";

/** Istio's cluster name `direction|port|subset|fqdn`, or the whole name for the others (BlackHoleCluster…). */
export interface ClusterKey {
  fqdn: string;
  port: string;
  subset: string;
  direction: string;
}

export function parseClusterName(name: string): ClusterKey {
  const parts = name.split("|");
  if (parts.length === 4) return { direction: parts[0], port: parts[1], subset: parts[2] || "-", fqdn: parts[3] || "-" };
  return { fqdn: name, port: "-", subset: "-", direction: "-" };
}

export function clusterType(c: Cluster): string {
  if (c.clusterDiscoveryType.case === "type") return Cluster_DiscoveryType[c.clusterDiscoveryType.value];
  if (c.clusterDiscoveryType.case === "clusterType") return c.clusterDiscoveryType.value.name;
  return "STATIC";
}

/** `reviews.default` from Istio's `/apis/networking.istio.io/v1/namespaces/default/destination-rule/reviews`. */
export function destinationRuleOf(c: Cluster): string {
  const config = (c.metadata?.filterMetadata.istio as Record<string, unknown> | undefined)?.config;
  if (typeof config !== "string") return "";
  const m = /\/namespaces\/([^/]+)\/destination-rule\/([^/]+)$/.exec(config);
  return m ? `${m[2]}.${m[1]}` : "";
}

export interface ClusterFilter {
  fqdn?: string;
  port?: string;
  subset?: string;
  direction?: string;
}

export function clusterRows(clusters: readonly Cluster[], filter: ClusterFilter = {}): string[][] {
  return clusters
    .map((c) => ({ c, key: parseClusterName(c.name) }))
    .filter(({ key }) => (!filter.fqdn || key.fqdn === filter.fqdn) && (!filter.port || key.port === filter.port) && (!filter.subset || key.subset === filter.subset) && (!filter.direction || key.direction === filter.direction))
    .map(({ c, key }) => [key.fqdn, key.port, key.subset, key.direction, clusterType(c), destinationRuleOf(c)]);
}

export const CLUSTER_HEADER = ["SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE", "DESTINATION RULE"];
