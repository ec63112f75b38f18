// SDS over ADS: Envoy Secret resources for `kubernetes://<name>` (a
// tls_certificate) and `kubernetes://<name>-cacert` (a validation_context), as
// istiod's SecretGen (pilot/pkg/xds/sds.go). Only streams with a verified
// identity get anything, only for Secrets of that identity's namespace; a
// name that cannot be served is left out (never an error for the whole
// response), so one bad reference does not break the others.
import { create } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { SecretSchema, type Secret } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import type { ProxyInfo, XdsResource } from "../contracts.js";
import { CredentialError } from "../credentials/credential-error.js";
import { denialReason, parseSecretResourceName, type SecretResource } from "../credentials/secret-resource.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { messageResource } from "./resource.js";

const inline = (bytes: Buffer) => ({ specifier: { case: "inlineBytes" as const, value: new Uint8Array(bytes) } });

function secretFor(push: MeshPushContext, r: SecretResource): Secret {
  if (r.caOnly) {
    const ca = push.credentials.caCert(r.namespace, r.name);
    return create(SecretSchema, {
      name: r.resourceName,
      type: { case: "validationContext", value: { trustedCa: inline(ca.cert), ...(ca.crl ? { crl: inline(ca.crl) } : {}) } },
    });
  }
  const info = push.credentials.certInfo(r.namespace, r.name);
  return create(SecretSchema, {
    name: r.resourceName,
    type: {
      case: "tlsCertificate",
      value: { certificateChain: inline(info.cert), privateKey: inline(info.key!), ...(info.ocspStaple ? { ocspStaple: inline(info.ocspStaple) } : {}) },
    },
  });
}

/** At most three names and how many more, as istiod's atMostNJoin. */
function atMost3(names: string[]): string {
  return names.length <= 3 ? names.join(", ") : `${names.slice(0, 3).join(", ")} and ${names.length - 3} more`;
}

/**
 * The Secrets `proxy` asked for. Unauthenticated streams get nothing (the ADS
 * server warns once per stream); problems with single names are logged at
 * warn, once per computation (snapshots are cached per push).
 */
export function generateSecrets(push: MeshPushContext, proxy: ProxyInfo, names: readonly string[] | undefined, logger: Logger): XdsResource[] {
  const identity = proxy.verifiedIdentity;
  // SDS is never a wildcard subscription: Envoy names every secret it wants.
  if (!identity || !names) return [];
  const out: XdsResource[] = [];
  const denied: string[] = [];
  let denial: string | undefined;
  for (const resourceName of names) {
    let resource: SecretResource;
    try {
      resource = parseSecretResourceName(resourceName, identity.namespace);
    } catch (error) {
      if (!(error instanceof CredentialError)) throw error;
      logger.warn({ proxy: proxy.id, resource: resourceName }, error.message);
      continue;
    }
    const why = denialReason(resource, identity);
    if (why) {
      denied.push(resourceName);
      denial ??= why;
      continue;
    }
    try {
      out.push(messageResource(SecretSchema, resourceName, secretFor(push, resource)));
    } catch (error) {
      if (!(error instanceof CredentialError)) throw error;
      logger.warn({ proxy: proxy.id, resource: resourceName, code: error.code }, `cannot serve ${resourceName}: ${error.message}`);
    }
  }
  if (denied.length > 0) logger.warn({ proxy: proxy.id, resources: denied }, `proxy ${proxy.id} may not read ${atMost3(denied)}: ${denial}`);
  return out;
}
