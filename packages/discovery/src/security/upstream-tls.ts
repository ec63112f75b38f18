// The TLS side of an outbound cluster, as istiod's cluster builder decides it
// (applyUpstreamTLSSettings / buildAutoMtlsSettings):
// - a DestinationRule `tls` (top level, subset, portLevelSettings; already
//   merged into `policy` by effectivePolicy) wins: DISABLE → plaintext,
//   ISTIO_MUTUAL → mesh mTLS always, SIMPLE / MUTUAL → TLS origination with the
//   given files or credentialName;
// - else auto mTLS (meshConfig.enableAutoMtls): transport_socket_matches that
//   pick mesh mTLS for endpoints whose EDS metadata says tlsMode=istio and
//   plaintext for the rest — unless the destination namespace (or the mesh)
//   has PeerAuthentication DISABLE, then plaintext.
import type { JsonObject } from "@bufbuild/protobuf";
import type { MeshService, ServicePort } from "../model/types.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { isObject, type Json } from "../source/field-checker.js";
import { typed } from "../generators/envoy-json.js";
import { serviceMtlsMode } from "./peer-authentication.js";
import { serviceSans } from "./policy-scope.js";
import { adsSecret, exactSans, istioMutualSocket, meshSni, RAW_BUFFER_SOCKET } from "./tls-context.js";

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

export interface UpstreamTlsInput {
  svc: MeshService;
  port: ServicePort;
  subset: string;
  /** The effective DestinationRule traffic policy for this port and subset. */
  policy: Json;
  http2: boolean;
}

/** Cluster fields (`transport_socket` or `transport_socket_matches`) for one outbound cluster; {} for plaintext. */
export function upstreamTlsFields(push: MeshPushContext, input: UpstreamTlsInput): JsonObject {
  const { svc, port, subset, policy, http2 } = input;
  const tls = isObject(policy.tls) ? policy.tls : undefined;
  const mode = tls ? str(tls.mode) : undefined;
  const sni = (): string => str(tls?.sni) ?? meshSni(port.port, subset, svc.hostname);
  const sans = (): string[] => {
    const explicit = strings(tls?.subjectAltNames);
    return explicit.length > 0 ? explicit : serviceSans(push, svc);
  };
  if (mode === "DISABLE") return {};
  if (mode === "ISTIO_MUTUAL") return { transport_socket: istioMutualSocket(sni(), sans(), http2) };
  if (mode === "SIMPLE" || mode === "MUTUAL") return { transport_socket: originationSocket(tls!, mode, http2) };
  // No tls mode set (absent or UNSET): auto mTLS.
  if (!push.options.enableAutoMtls || svc.resolution === "PASSTHROUGH") return {};
  if (serviceMtlsMode(push, svc.namespace) === "DISABLE") return {};
  return {
    transport_socket_matches: [
      { name: "tlsMode-istio", match: { tlsMode: "istio" }, transport_socket: istioMutualSocket(sni(), sans(), http2) },
      { name: "tlsMode-disabled", match: {}, transport_socket: RAW_BUFFER_SOCKET },
    ],
  };
}

/**
 * TLS origination (DestinationRule SIMPLE / MUTUAL): certificates from files
 * (clientCertificate, privateKey, caCertificates, caCrl) or from a Secret
 * named by credentialName (served over ADS as `kubernetes://<name>`, its CA as
 * `kubernetes://<name>-cacert`, as istiod names them); insecureSkipVerify
 * drops server verification; ALPN h2 for HTTP/2 clusters.
 */
function originationSocket(tls: Json, mode: "SIMPLE" | "MUTUAL", http2: boolean): JsonObject {
  const common: JsonObject = {};
  const credential = str(tls.credentialName);
  const sans = strings(tls.subjectAltNames);
  const skipVerify = tls.insecureSkipVerify === true;
  if (mode === "MUTUAL") {
    if (credential) common.tls_certificate_sds_secret_configs = [adsSecret(`kubernetes://${credential}`)];
    else {
      const cert = str(tls.clientCertificate);
      const key = str(tls.privateKey);
      if (cert && key) common.tls_certificates = [{ certificate_chain: { filename: cert }, private_key: { filename: key } }];
    }
  }
  if (!skipVerify) {
    const validation: JsonObject = sans.length > 0 ? { match_subject_alt_names: exactSans(sans) } : {};
    const ca = str(tls.caCertificates);
    if (credential) {
      common.combined_validation_context = { default_validation_context: validation, validation_context_sds_secret_config: adsSecret(`kubernetes://${credential}-cacert`) };
    } else if (ca) {
      const crl = str(tls.caCrl);
      common.validation_context = { ...validation, trusted_ca: { filename: ca }, ...(crl ? { crl: { filename: crl } } : {}) };
    } else if (sans.length > 0) {
      common.validation_context = validation;
    }
  }
  if (http2) common.alpn_protocols = ["h2"];
  const sni = str(tls.sni);
  return {
    name: "envoy.transport_sockets.tls",
    typed_config: typed("envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", { common_tls_context: common, ...(sni ? { sni } : {}) }),
  };
}
