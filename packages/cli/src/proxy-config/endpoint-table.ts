import type { ClusterLoadAssignment } from "@weft/xds-api/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { HealthStatus } from "@weft/xds-api/gen/envoy/config/core/v3/health_check_pb.js";

export const ENDPOINT_HEADER = ["ENDPOINT", "STATUS", "OUTLIER CHECK", "CLUSTER"];

/** From Envoy's `/clusters?format=json` (envoy.admin.v3.Clusters), the live view istioctl prints. */
export interface AdminClusters {
  cluster_statuses?: Array<{
    name: string;
    host_statuses?: Array<{
      address?: { socket_address?: { address: string; port_value: number }; pipe?: { path: string } };
      health_status?: { eds_health_status?: string; failed_outlier_check?: boolean; failed_active_health_check?: boolean };
    }>;
  }>;
}

export function endpointRowsFromAdmin(clusters: AdminClusters, filter: { cluster?: string; address?: string; port?: string; status?: string } = {}): string[][] {
  const rows: string[][] = [];
  for (const c of clusters.cluster_statuses ?? []) {
    if (filter.cluster && c.name !== filter.cluster) continue;
    for (const h of c.host_statuses ?? []) {
      const sa = h.address?.socket_address;
      const endpoint = sa ? `${sa.address}:${sa.port_value}` : h.address?.pipe ? `unix://${h.address.pipe.path}` : "-";
      if (filter.address && sa?.address !== filter.address) continue;
      if (filter.port && String(sa?.port_value) !== filter.port) continue;
      const health = h.health_status;
      const status = health?.failed_active_health_check ? "UNHEALTHY" : health?.eds_health_status ?? "HEALTHY";
      if (filter.status && status !== filter.status) continue;
      rows.push([endpoint, status, health?.failed_outlier_check ? "FAILED" : "OK", c.name]);
    }
  }
  return rows;
}

/** From a config dump's EndpointsConfigDump, when no live admin is at hand (`-f`). */
export function endpointRowsFromAssignments(assignments: readonly ClusterLoadAssignment[], filter: { cluster?: string } = {}): string[][] {
  const rows: string[][] = [];
  for (const cla of assignments) {
    if (filter.cluster && cla.clusterName !== filter.cluster) continue;
    for (const locality of cla.endpoints) {
      for (const lb of locality.lbEndpoints) {
        const ep = lb.hostIdentifier.case === "endpoint" ? lb.hostIdentifier.value : undefined;
        const addr = ep?.address?.address;
        const endpoint = addr?.case === "socketAddress" ? `${addr.value.address}:${addr.value.portSpecifier.case === "portValue" ? addr.value.portSpecifier.value : ""}` : addr?.case === "pipe" ? `unix://${addr.value.path}` : addr?.case === "envoyInternalAddress" ? `envoy://${addr.value.addressNameSpecifier.value ?? ""}/${addr.value.endpointId}` : "-";
        const status = lb.healthStatus === HealthStatus.UNKNOWN ? "HEALTHY" : HealthStatus[lb.healthStatus];
        rows.push([endpoint, status, "OK", cla.clusterName]);
      }
    }
  }
  return rows;
}
