// SDS resource names for Kubernetes credentials and who may read them.
// Names are istiod's (pilot/pkg/model/credentials/resource.go):
// `kubernetes://<name>` reads Secret <name> in the proxy's namespace,
// `kubernetes://<namespace>/<name>` names the namespace; `<name>-cacert` is the
// CA half. Authorization follows istiod's SecretGen (pilot/pkg/xds/sds.go):
// nothing without a verified identity, and only Secrets of that identity's
// namespace (Weft uses the namespace rule alone, no SubjectAccessReview).
import type { VerifiedIdentity } from "../contracts.js";
import { CredentialError } from "./credential-error.js";
import { CA_SUFFIX } from "./credential-store.js";

export const KUBERNETES_PREFIX = "kubernetes://";

export interface SecretResource {
  /** The name the proxy asked for, as sent back. */
  resourceName: string;
  namespace: string;
  name: string;
  /** `…-cacert`: a validation_context, else a tls_certificate. */
  caOnly: boolean;
}

/** `kubernetes://[namespace/]name` → the Secret it reads, defaulting to `namespace` (the verified one). */
export function parseSecretResourceName(resourceName: string, namespace: string): SecretResource {
  if (!resourceName.startsWith(KUBERNETES_PREFIX)) {
    const hint =
      resourceName === "default" || resourceName === "ROOTCA"
        ? "the workload certificate and root come from the agent's SDS (cluster sds-grpc), not from discovery"
        : "Weft serves kubernetes://<name> and kubernetes://<namespace>/<name> (Secrets)";
    throw new CredentialError("BAD_NAME", `SDS resource ${JSON.stringify(resourceName)} is not a Kubernetes credential: ${hint}`);
  }
  const parts = resourceName.slice(KUBERNETES_PREFIX.length).split("/");
  const [ns, name] = parts.length > 1 ? [parts[0]!, parts[1]!] : [namespace, parts[0]!];
  if (!ns || !name || parts.length > 2) {
    throw new CredentialError("BAD_NAME", `SDS resource ${JSON.stringify(resourceName)} is not kubernetes://<name> or kubernetes://<namespace>/<name>`);
  }
  return { resourceName, namespace: ns, name, caOnly: name.endsWith(CA_SUFFIX) };
}

/**
 * Why `identity` may not read `resource`, or undefined when it may. istiod
 * lets a proxy read only Secrets of its verified namespace (a cross-namespace
 * reference needs a Gateway API ReferenceGrant, which Weft does not read).
 */
export function denialReason(resource: SecretResource, identity: VerifiedIdentity | undefined): string | undefined {
  if (!identity) return "the stream is not authenticated: credentials are served only over ADS on the CA's TLS port (istiod's 15012) with a workload token";
  if (resource.namespace !== identity.namespace) {
    return `Secret ${resource.namespace}/${resource.name} is in another namespace than the proxy's authenticated namespace ${identity.namespace}`;
  }
  return undefined;
}

/**
 * The SDS resource names a change of Secret `name` can alter, for a proxy in
 * `namespace`: the credential, its -cacert half (which falls back to this
 * Secret), and, for a `<x>-cacert` Secret, `<x>` too (istiod's relatedConfigs),
 * each with and without the namespace.
 */
export function affectedResourceNames(namespace: string, name: string): string[] {
  const related = name.endsWith(CA_SUFFIX) ? [name, name.slice(0, -CA_SUFFIX.length)] : [name, name + CA_SUFFIX];
  return related.flatMap((n) => [`${KUBERNETES_PREFIX}${n}`, `${KUBERNETES_PREFIX}${namespace}/${n}`]);
}
