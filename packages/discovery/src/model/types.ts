// The service model discovery generates from: Kubernetes Services and Istio
// ServiceEntries become MeshServices; Pods, EndpointSlices, Endpoints and
// WorkloadEntries become their endpoints.
import type { Labels } from "./labels.js";
import type { Protocol } from "./protocol.js";

export interface ServicePort {
  /** Port name ("" for an unnamed single port). */
  name: string;
  port: number;
  protocol: Protocol;
  /** Kubernetes targetPort (number or container port name); ServiceEntry targetPort. */
  targetPort?: number | string;
}

export interface Locality {
  region: string;
  zone: string;
  subzone: string;
}

export interface MeshEndpoint {
  address: string;
  /** Port on the workload for `servicePort`. */
  port: number;
  /** The service port number this endpoint serves. */
  servicePort: number;
  labels: Labels;
  serviceAccount: string;
  locality: Locality;
  healthy: boolean;
  weight: number;
  /** `name;namespace;app;version;cluster`-style workload id for Istio's endpoint metadata. */
  workload: string;
  /** `istio` when the endpoint runs a sidecar (label security.istio.io/tlsMode): auto mTLS targets it. */
  tlsMode?: string;
}

/** How a service's endpoints reach the proxy: Envoy cluster discovery type. */
export type Resolution = "EDS" | "DNS" | "DNS_ROUND_ROBIN" | "PASSTHROUGH";

export interface MeshService {
  hostname: string;
  /** Short name: Kubernetes Service name, or the ServiceEntry host itself. */
  name: string;
  namespace: string;
  /** ClusterIP or the first ServiceEntry address; undefined when headless / none. */
  vip?: string;
  ports: ServicePort[];
  labels: Labels;
  /** Kubernetes selector or ServiceEntry workloadSelector. */
  selector?: Labels;
  /** `networking.istio.io/exportTo` or ServiceEntry exportTo; default ["*"]. */
  exportTo: readonly string[];
  kind: "Service" | "ServiceEntry";
  resolution: Resolution;
  location: "MESH_INTERNAL" | "MESH_EXTERNAL";
  endpoints: MeshEndpoint[];
  origin: string;
  /** For debug pages and istio metadata: `/apis/...` path of the source object. */
  configPath: string;
}

export interface Workload {
  kind: "Pod" | "WorkloadEntry" | "Deployment";
  name: string;
  namespace: string;
  ip?: string;
  labels: Labels;
  serviceAccount: string;
  ready: boolean;
  /** Named container ports (for targetPort by name). */
  namedPorts: ReadonlyMap<string, number>;
  locality: Locality;
  /** `istio` when the workload runs a sidecar (see tlsModeOf). */
  tlsMode?: string;
}

export interface Registry {
  services: readonly MeshService[];
  /** All services for a hostname (ServiceEntries may repeat a host across namespaces). */
  byHost: ReadonlyMap<string, readonly MeshService[]>;
  workloads: readonly Workload[];
  namespaces: ReadonlyMap<string, Labels>;
}
