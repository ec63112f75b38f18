// envoy.config.endpoint.v3.ClusterLoadAssignment → plain endpoint descriptions.
import type { ClusterLoadAssignment } from "@weft/xds-api/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { Address } from "@weft/xds-api/gen/envoy/config/core/v3/address_pb.js";
import { isIP } from "node:net";
import type { Metadata } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb.js";
import { ResourceRejectedError } from "../contracts.js";
import type { Locality } from "../upstream/host.js";

export interface EndpointSpec {
  /** IP, or a hostname for DNS clusters. */
  address: string;
  port: number;
  pipe?: string;
  weight: number;
  healthy: boolean;
  healthFlags: string[];
  locality?: Locality;
  priority: number;
  /** filter_metadata["envoy.transport_socket_match"] (endpoint, else locality): picks the cluster's transport_socket_matches entry. */
  transportSocketMatch?: Record<string, unknown>;
  /** filter_metadata["istio"].workload: istiod's `name;namespace;canonical;revision;cluster` of the endpoint. */
  istioWorkload?: string;
}

export interface CompiledAssignment {
  endpoints: EndpointSpec[];
  /** LocalityLbEndpoints.load_balancing_weight by priority then locality key. */
  localityWeights: Array<Map<string, number>>;
  /** policy.overprovisioning_factor / 100; Envoy's default 140 → 1.4. */
  overprovisioningFactor: number;
}

export function socketAddressOf(
  addr: Address | undefined,
  resource: string,
  field: string,
  allowHostname: boolean,
): { address: string; port: number; pipe?: string } {
  const a = addr?.address;
  if (!a || !a.case) throw new ResourceRejectedError(resource, field, "address is required");
  if (a.case === "pipe") return { address: "", port: 0, pipe: a.value.path };
  if (a.case !== "socketAddress") throw new ResourceRejectedError(resource, field, `${a.case} addresses are not supported`);
  const sa = a.value;
  if (sa.portSpecifier.case === "namedPort") throw new ResourceRejectedError(resource, field + ".socket_address.named_port", "named ports are not supported");
  const port = sa.portSpecifier.case === "portValue" ? sa.portSpecifier.value : 0;
  if (port > 65535) throw new ResourceRejectedError(resource, field + ".socket_address.port_value", `port ${port} is out of range (0-65535)`);
  if (!sa.address) throw new ResourceRejectedError(resource, field + ".socket_address.address", "address is required");
  if (!allowHostname && isIP(sa.address) === 0) {
    throw new ResourceRejectedError(resource, field + ".socket_address.address", `${JSON.stringify(sa.address)} is not an IP address (only DNS clusters resolve hostnames)`);
  }
  return { address: sa.address, port };
}

/** Envoy matches transport_socket_matches against this filter_metadata key. */
function socketMatchOf(md: Metadata | undefined): Record<string, unknown> | undefined {
  return md?.filterMetadata["envoy.transport_socket_match"];
}

function istioWorkloadOf(md: Metadata | undefined): string | undefined {
  const w = md?.filterMetadata["istio"]?.["workload"];
  return typeof w === "string" && w ? w : undefined;
}

export function compileAssignment(
  cla: ClusterLoadAssignment,
  resource: string,
  field: string,
  allowHostname: boolean,
): CompiledAssignment {
  const endpoints: EndpointSpec[] = [];
  const localityWeights: Array<Map<string, number>> = [];
  cla.endpoints.forEach((lle, i) => {
    const priority = lle.priority;
    const loc = lle.locality ? { region: lle.locality.region, zone: lle.locality.zone, subZone: lle.locality.subZone } : undefined;
    const key = loc ? `${loc.region ?? ""}/${loc.zone ?? ""}/${loc.subZone ?? ""}` : "";
    while (localityWeights.length <= priority) localityWeights.push(new Map());
    if (lle.loadBalancingWeight !== undefined) localityWeights[priority].set(key, lle.loadBalancingWeight);
    const localityMatch = socketMatchOf(lle.metadata);
    lle.lbEndpoints.forEach((lb, j) => {
      const f = `${field}.endpoints[${i}].lb_endpoints[${j}]`;
      if (lb.hostIdentifier.case !== "endpoint") {
        throw new ResourceRejectedError(resource, f, "only inline endpoints are supported (endpoint_name is not)");
      }
      const sa = socketAddressOf(lb.hostIdentifier.value.address, resource, f + ".endpoint.address", allowHostname);
      // HealthStatus: UNKNOWN(0) and HEALTHY(1) are routable; UNHEALTHY, DRAINING, TIMEOUT, DEGRADED are not.
      const hs = lb.healthStatus;
      const healthy = hs === 0 || hs === 1;
      endpoints.push({
        ...sa,
        weight: lb.loadBalancingWeight ?? 1,
        healthy,
        healthFlags: healthy ? [] : ["/failed_eds_health"],
        locality: loc,
        priority,
        transportSocketMatch: socketMatchOf(lb.metadata) ?? localityMatch,
        istioWorkload: istioWorkloadOf(lb.metadata),
      });
    });
  });
  const opf = cla.policy?.overprovisioningFactor;
  return { endpoints, localityWeights, overprovisioningFactor: (opf ?? 140) / 100 };
}
