// The kinds Weft reads and the apiVersions each is accepted in. Istio serves
// v1, v1beta1 and v1alpha3 of networking.istio.io side by side (same schema),
// and v1/v1beta1 of security.istio.io; telemetry.istio.io has v1 and v1alpha1.

const ISTIO_NETWORKING = ["networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3"];
const ISTIO_SECURITY = ["security.istio.io/v1", "security.istio.io/v1beta1"];
const ISTIO_TELEMETRY = ["telemetry.istio.io/v1", "telemetry.istio.io/v1alpha1", "telemetry.istio.io/v1beta1"];

export const KNOWN_KINDS: ReadonlyMap<string, readonly string[]> = new Map<string, readonly string[]>([
  ["Namespace", ["v1"]],
  ["Service", ["v1"]],
  ["Endpoints", ["v1"]],
  ["EndpointSlice", ["discovery.k8s.io/v1"]],
  ["Pod", ["v1"]],
  ["Deployment", ["apps/v1"]],
  ["ServiceAccount", ["v1"]],
  // Gateway credentials (credentialName), served over SDS.
  ["Secret", ["v1"]],
  ["VirtualService", ISTIO_NETWORKING],
  ["DestinationRule", ISTIO_NETWORKING],
  ["Gateway", ISTIO_NETWORKING],
  ["ServiceEntry", ISTIO_NETWORKING],
  ["Sidecar", ISTIO_NETWORKING],
  ["WorkloadEntry", ISTIO_NETWORKING],
  // Istio serves EnvoyFilter in v1alpha3 only.
  ["EnvoyFilter", ["networking.istio.io/v1alpha3"]],
  ["PeerAuthentication", ISTIO_SECURITY],
  ["AuthorizationPolicy", ISTIO_SECURITY],
  ["RequestAuthentication", ISTIO_SECURITY],
  ["Telemetry", ISTIO_TELEMETRY],
]);

/** Kinds whose changes only move endpoints (EDS-only pushes). */
export const ENDPOINT_KINDS: ReadonlySet<string> = new Set(["Endpoints", "EndpointSlice", "Pod", "WorkloadEntry"]);

/** Kinds that are cluster-scoped (no namespace). */
export const CLUSTER_SCOPED: ReadonlySet<string> = new Set(["Namespace"]);

/** A one-line summary of what Weft reads, for the unknown-kind error. */
export function describeKnownKinds(): string {
  return [...KNOWN_KINDS].map(([kind, versions]) => `${kind} (${versions.join(", ")})`).join("; ");
}

/** `undefined` when the kind/apiVersion pair is accepted, else the reason. */
export function checkKind(apiVersion: string, kind: string): string | undefined {
  const versions = KNOWN_KINDS.get(kind);
  if (!versions) return `unknown kind ${kind} in apiVersion ${apiVersion}; Weft reads ${describeKnownKinds()}`;
  if (!versions.includes(apiVersion)) {
    return `kind ${kind} is not served in apiVersion ${apiVersion}; Weft reads ${kind} in ${versions.join(", ")}`;
  }
  return undefined;
}
