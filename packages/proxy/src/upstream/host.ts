// One upstream endpoint. Identity (address, weight, locality) is fixed when
// the endpoint set is compiled (EDS, DNS or static); health is a set of
// flags owned by different checkers (EDS, active health checking, outlier
// detection), and counters are mutated on the request path.
import { endpointWorkloadOf, type WorkloadMetadata } from "../istio/peer-metadata.js";
export interface Locality {
  region?: string;
  zone?: string;
  subZone?: string;
}

/** Envoy's host health flags (envoy/upstream/host_description.h), as /clusters prints them. */
export const HealthFlag = {
  FAILED_ACTIVE_HC: 1,
  FAILED_OUTLIER_CHECK: 2,
  FAILED_EDS_HEALTH: 4,
  PENDING_ACTIVE_HC: 8,
} as const;
export type HealthFlagBit = (typeof HealthFlag)[keyof typeof HealthFlag];

const FLAG_NAMES: Array<[number, string]> = [
  [HealthFlag.FAILED_ACTIVE_HC, "/failed_active_hc"],
  [HealthFlag.FAILED_OUTLIER_CHECK, "/failed_outlier_check"],
  [HealthFlag.FAILED_EDS_HEALTH, "/failed_eds_health"],
  [HealthFlag.PENDING_ACTIVE_HC, "/pending_active_hc"],
];
// PENDING_ACTIVE_HC alone does not make a host unhealthy (it is paired with FAILED_ACTIVE_HC when it does).
const UNHEALTHY_MASK = HealthFlag.FAILED_ACTIVE_HC | HealthFlag.FAILED_OUTLIER_CHECK | HealthFlag.FAILED_EDS_HEALTH;

export interface Host {
  /** `ip:port`, or the pipe path for unix sockets. */
  readonly key: string;
  readonly ip: string;
  readonly port: number;
  /** Unix socket path when the endpoint is a pipe. */
  readonly pipe?: string;
  readonly weight: number;
  readonly locality?: Locality;
  readonly localityKey: string;
  readonly priority: number;
  /** Hostname the endpoint was configured with (for auto_host_rewrite on DNS clusters). */
  readonly hostname?: string;
  /** filter_metadata["envoy.transport_socket_match"] of the endpoint (else its locality), for transport_socket_matches. */
  readonly transportSocketMatch?: Readonly<Record<string, unknown>>;
  /** filter_metadata["istio"].workload as istiod encodes it (compared on EDS updates). */
  readonly istioWorkloadId?: string;
  /** That workload, decoded: istio.stats' client-side peer when the upstream sent no metadata. */
  readonly istioWorkload?: WorkloadMetadata;
  /** Bit set of HealthFlag values. */
  flags: number;
  /** No flag that excludes the host from load balancing. */
  readonly healthy: boolean;
  /** Envoy's names of the set flags, e.g. `["/failed_outlier_check"]`. */
  readonly healthFlags: string[];
  activeRequests: number;
  cxActive: number;
  rqTotal: number;
  rqSuccess: number;
  rqError: number;
}

export function createHost(init: {
  ip: string;
  port: number;
  pipe?: string;
  weight?: number;
  healthy?: boolean;
  flags?: number;
  locality?: Locality;
  priority?: number;
  hostname?: string;
  transportSocketMatch?: Readonly<Record<string, unknown>>;
  istioWorkload?: string;
}): Host {
  const loc = init.locality;
  return {
    key: init.pipe ?? (init.ip.includes(":") ? `[${init.ip}]:${init.port}` : `${init.ip}:${init.port}`),
    ip: init.ip,
    port: init.port,
    pipe: init.pipe,
    weight: init.weight && init.weight > 0 ? init.weight : 1,
    locality: loc,
    localityKey: loc ? `${loc.region ?? ""}/${loc.zone ?? ""}/${loc.subZone ?? ""}` : "",
    priority: init.priority ?? 0,
    hostname: init.hostname,
    transportSocketMatch: init.transportSocketMatch,
    istioWorkloadId: init.istioWorkload,
    istioWorkload: endpointWorkloadOf(init.istioWorkload),
    flags: (init.flags ?? 0) | (init.healthy === false ? HealthFlag.FAILED_EDS_HEALTH : 0),
    get healthy() {
      return (this.flags & UNHEALTHY_MASK) === 0;
    },
    get healthFlags() {
      const out: string[] = [];
      for (const [bit, name] of FLAG_NAMES) if (this.flags & bit) out.push(name);
      return out;
    },
    activeRequests: 0,
    cxActive: 0,
    rqTotal: 0,
    rqSuccess: 0,
    rqError: 0,
  };
}

/** Same endpoint identity: a new EDS/DNS snapshot may keep the old Host (and its health state). */
export function sameEndpoint(a: Host, b: { key: string; weight: number; priority: number; localityKey: string; hostname?: string; istioWorkloadId?: string }): boolean {
  return a.key === b.key && a.weight === b.weight && a.priority === b.priority && a.localityKey === b.localityKey && a.hostname === b.hostname && a.istioWorkloadId === b.istioWorkloadId;
}
