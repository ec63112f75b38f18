import { CaError } from "./ca-error.js";

/** Who a workload is: what the CA puts in its certificate. */
export interface WorkloadIdentity {
  namespace: string;
  serviceAccount: string;
}

// Kubernetes namespaces are RFC 1123 labels; service accounts RFC 1123 subdomains. Checking
// them keeps '/', '%', NUL and friends out of the SPIFFE URI (a proxy must reject a NUL in a
// SAN; we must never mint one).
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;

export function checkTrustDomain(trustDomain: string): string {
  if (!TRUST_DOMAIN.test(trustDomain)) throw new CaError("INVALID_IDENTITY", `trust domain ${JSON.stringify(trustDomain)}: expected lower-case letters, digits, '.', '-' or '_'`);
  return trustDomain;
}

/** `spiffe://<td>/ns/<ns>/sa/<sa>`, Istio's workload identity format. */
export function spiffeId(trustDomain: string, id: WorkloadIdentity): string {
  checkTrustDomain(trustDomain);
  if (!LABEL.test(id.namespace)) throw new CaError("INVALID_IDENTITY", `namespace ${JSON.stringify(id.namespace)} is not a Kubernetes namespace name (RFC 1123 label)`);
  if (!SUBDOMAIN.test(id.serviceAccount)) throw new CaError("INVALID_IDENTITY", `service account ${JSON.stringify(id.serviceAccount)} is not a Kubernetes name (RFC 1123 subdomain)`);
  return `spiffe://${trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}
