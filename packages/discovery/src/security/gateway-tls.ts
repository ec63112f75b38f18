// The DownstreamTlsContext of a Gateway server that terminates TLS, as istiod
// builds it (pilot/pkg/networking/core/listener.go BuildListenerTLSContext,
// pilot/pkg/security/model ApplyCredentialSDSToServerCommonTLSContext /
// ApplyToCommonTLSContext):
// - ISTIO_MUTUAL: the workload certificate `default` and root `ROOTCA` from
//   the agent's SDS (`sds-grpc`), as on sidecar inbound mTLS chains;
// - credentialName: `kubernetes://<name>` over ADS (discovery serves the
//   Secret), and `kubernetes://<name>-cacert` for client validation;
// - otherwise the legacy files (serverCertificate, privateKey, caCertificates).
//   istiod hands those to pilot-agent as SDS `file-cert:`/`file-root:`
//   resources; Weft's agent serves no such resources, so they are inline
//   `filename` data sources the proxy reads (and re-reads on an update).
// TLS parameters are only set when the server sets them (SIMPLE / MUTUAL /
// OPTIONAL_MUTUAL): Envoy's own default is then TLS 1.2 – 1.3 for servers.
import type { JsonObject } from "@bufbuild/protobuf";
import { typed } from "../generators/envoy-json.js";
import type { Json } from "../source/field-checker.js";
import { adsSecret, exactSans, sdsSecret, SDS_DEFAULT, SDS_ROOTCA } from "./tls-context.js";

const DOWNSTREAM_TLS = "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
const ALPN_HTTP = ["h2", "http/1.1"];
/** Istio's ALPNDownstreamWithMxc: an ISTIO_MUTUAL TLS (tcp_proxy) server accepts in-mesh peers. */
const ALPN_DOWNSTREAM_MXC = ["istio-peer-exchange", "h2", "http/1.1"];

/** Istio's ValidCipherSuites (`bssl ciphers -openssl-name ALL`, without PSK). */
const VALID_CIPHERS = new Set([
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
  "ECDHE-ECDSA-AES128-SHA",
  "ECDHE-RSA-AES128-SHA",
  "ECDHE-ECDSA-AES256-SHA",
  "ECDHE-RSA-AES256-SHA",
  "AES128-GCM-SHA256",
  "AES256-GCM-SHA384",
  "AES128-SHA",
  "AES256-SHA",
  "DES-CBC3-SHA",
]);

/** istiod's FilterCipherSuites: drop unknown and repeated names (its webhook warns about both). */
export function filterCipherSuites(suites: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of suites) {
    // Entries like `[A|B]` or `!X` are BoringSSL cipher-list syntax istiod lets through.
    const valid = s === "" || s === "ALL" || !/^[A-Za-z0-9]/.test(s) || VALID_CIPHERS.has(s);
    if (valid && !out.includes(s)) out.push(s);
  }
  return out;
}

/** Istio's TLSV1_2 → Envoy's TLSv1_2 (one-to-one enums); TLS_AUTO and unknown values mean unset. */
function envoyTlsVersion(v: unknown): string | undefined {
  const m = typeof v === "string" ? /^TLSV1_([0-3])$/.exec(v) : null;
  return m ? `TLSv1_${m[1]}` : undefined;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
const file = (path: string): JsonObject => ({ filename: path });

/** credentials.ToResourceName: `kubernetes://<name>` unless already a resource name. */
export function credentialResourceName(name: string): string {
  return name.startsWith("kubernetes://") ? name : `kubernetes://${name}`;
}

/**
 * The `envoy.transport_sockets.tls` transport socket of a terminating server.
 * `tcpServer`: a TLS (not HTTPS) server, whose ISTIO_MUTUAL peers may offer
 * istio-peer-exchange.
 */
export function gatewayTlsSocket(tls: Json, tcpServer: boolean): JsonObject {
  const mode = typeof tls.mode === "string" ? tls.mode : "PASSTHROUGH";
  const require = mode === "MUTUAL" || mode === "ISTIO_MUTUAL";
  const validateClient = require || mode === "OPTIONAL_MUTUAL";
  const sans = strings(tls.subjectAltNames);
  const common: JsonObject = { alpn_protocols: tcpServer && mode === "ISTIO_MUTUAL" ? ALPN_DOWNSTREAM_MXC : ALPN_HTTP };
  const credentialName = typeof tls.credentialName === "string" ? tls.credentialName : "";
  const crl: JsonObject = typeof tls.caCrl === "string" && tls.caCrl ? { crl: file(tls.caCrl) } : {};
  if (mode === "ISTIO_MUTUAL") {
    common.tls_certificate_sds_secret_configs = [sdsSecret(SDS_DEFAULT)];
    if (validateClient) {
      common.combined_validation_context = {
        default_validation_context: { ...(sans.length ? { match_subject_alt_names: exactSans(sans) } : {}), ...crl },
        validation_context_sds_secret_config: sdsSecret(SDS_ROOTCA),
      };
    }
  } else if (credentialName) {
    const resource = credentialResourceName(credentialName);
    common.tls_certificate_sds_secret_configs = [adsSecret(resource)];
    if (validateClient) {
      const spki = strings(tls.verifyCertificateSpki);
      const hash = strings(tls.verifyCertificateHash);
      common.combined_validation_context = {
        default_validation_context: {
          ...(sans.length ? { match_subject_alt_names: exactSans(sans) } : {}),
          ...(spki.length ? { verify_certificate_spki: spki } : {}),
          ...(hash.length ? { verify_certificate_hash: hash } : {}),
        },
        validation_context_sds_secret_config: adsSecret(`${resource}-cacert`),
      };
    } else if (sans.length) {
      common.validation_context = { match_subject_alt_names: exactSans(sans) };
    }
  } else {
    common.tls_certificates = [{ certificate_chain: file(String(tls.serverCertificate)), private_key: file(String(tls.privateKey)) }];
    if (validateClient && typeof tls.caCertificates === "string" && tls.caCertificates) {
      common.validation_context = { trusted_ca: file(tls.caCertificates), ...(sans.length ? { match_subject_alt_names: exactSans(sans) } : {}), ...crl };
    }
  }
  if (mode === "SIMPLE" || mode === "MUTUAL" || mode === "OPTIONAL_MUTUAL") {
    const params: JsonObject = {};
    const min = envoyTlsVersion(tls.minProtocolVersion);
    const max = envoyTlsVersion(tls.maxProtocolVersion);
    const ciphers = filterCipherSuites(strings(tls.cipherSuites));
    if (min) params.tls_minimum_protocol_version = min;
    if (max) params.tls_maximum_protocol_version = max;
    if (ciphers.length) params.cipher_suites = ciphers;
    if (Object.keys(params).length) common.tls_params = params;
  }
  return {
    name: "envoy.transport_sockets.tls",
    typed_config: typed(DOWNSTREAM_TLS, { common_tls_context: common, require_client_certificate: require }),
  };
}
