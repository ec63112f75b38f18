// Downstream/UpstreamTlsContext (a transport socket's typed_config) →
// TlsContextSpec: where the certificate and the validation context come from
// (inline, static secret, SDS over ADS or over an api_config_source), ALPN,
// protocol versions, ciphers, SNI, client-certificate requirement. The only
// place that reads TLS context protos.
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { ApiConfigSource_ApiType } from "@weft/xds-api/gen/envoy/config/core/v3/config_source_pb.js";
import { TlsParameters_TlsProtocol } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import type { SdsSecretConfig } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import {
  DownstreamTlsContextSchema,
  UpstreamTlsContextSchema,
  type CommonTlsContext,
} from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { ResourceRejectedError } from "../contracts.js";
import { durationMs } from "../runtime/duration.js";
import { compileTlsCertificate, compileValidationContext, type CertificateSecret, type ValidationSecret } from "./compile-secret.js";

export const DOWNSTREAM_TLS_TYPE_URL = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
export const UPSTREAM_TLS_TYPE_URL = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";
export const RAW_BUFFER_TYPE_URL = "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer";

/** Where an SDS secret comes from; `key` identifies the source (one stream per source). */
export type SecretSource =
  | { kind: "static"; key: "static" }
  | { kind: "ads"; key: "ads" }
  | { kind: "grpc"; key: string; cluster: string; delta: boolean };

export interface SecretRef {
  name: string;
  source: SecretSource;
  /**
   * The sds_config's initial_fetch_timeout (Envoy's default 15 s; 0 waits forever): how long a
   * warming listener waits for this secret before it goes active without it.
   */
  initialFetchTimeoutMs: number;
}

export type TlsVersion = "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";

export interface TlsContextSpec {
  side: "downstream" | "upstream";
  /** The certificate: inline, or a secret to wait for. Upstream may have none (no client cert). */
  certificate?: { inline: CertificateSecret } | { ref: SecretRef };
  /** Validation: the inline/default part and the SDS part merged at use (combined_validation_context). */
  validation?: { inline?: ValidationSecret; ref?: SecretRef };
  alpn: string[];
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  /** OpenSSL cipher list for TLS ≤ 1.2, undefined for the default. */
  ciphers?: string;
  ecdhCurves?: string;
  /** Downstream: require_client_certificate. */
  requireClientCert: boolean;
  /** Downstream: require_sni. */
  requireSni: boolean;
  /** Upstream: sni. */
  sni?: string;
  /** Every secret this context needs, for subscriptions and warming. */
  refs: SecretRef[];
}

function version(v: TlsParameters_TlsProtocol, dflt: TlsVersion): TlsVersion {
  switch (v) {
    case TlsParameters_TlsProtocol.TLSv1_0: return "TLSv1";
    case TlsParameters_TlsProtocol.TLSv1_1: return "TLSv1.1";
    case TlsParameters_TlsProtocol.TLSv1_2: return "TLSv1.2";
    case TlsParameters_TlsProtocol.TLSv1_3: return "TLSv1.3";
    default: return dflt;
  }
}

const ORDER: TlsVersion[] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

export function sourceOf(cfg: SdsSecretConfig, resource: string, field: string): SecretSource {
  const sc = cfg.sdsConfig;
  if (!sc) return { kind: "static", key: "static" };
  const s = sc.configSourceSpecifier;
  if (s.case === "ads") return { kind: "ads", key: "ads" };
  if (s.case === "apiConfigSource") {
    const api = s.value;
    const t = api.apiType;
    if (t !== ApiConfigSource_ApiType.GRPC && t !== ApiConfigSource_ApiType.DELTA_GRPC) {
      throw new ResourceRejectedError(resource, `${field}.sds_config.api_config_source.api_type`, `${ApiConfigSource_ApiType[t] ?? t} is not supported for SDS (use GRPC or DELTA_GRPC)`);
    }
    const g = api.grpcServices[0]?.targetSpecifier;
    if (g?.case !== "envoyGrpc" || !g.value.clusterName) {
      throw new ResourceRejectedError(resource, `${field}.sds_config.api_config_source.grpc_services`, "SDS needs one envoy_grpc service naming a static cluster");
    }
    const delta = t === ApiConfigSource_ApiType.DELTA_GRPC;
    return { kind: "grpc", key: `${delta ? "delta" : "grpc"}:${g.value.clusterName}`, cluster: g.value.clusterName, delta };
  }
  throw new ResourceRejectedError(resource, `${field}.sds_config`, `${s.case ?? "an empty config source"} is not supported for SDS (use ads or api_config_source)`);
}

function secretRef(cfg: SdsSecretConfig, resource: string, field: string): SecretRef {
  if (!cfg.name) throw new ResourceRejectedError(resource, `${field}.name`, "must not be empty");
  // Static secrets are there at once or never (no timeout applies); Istio sets 0 for the workload
  // certificate and leaves credentialName's at Envoy's 15 s, so one missing gateway Secret does not
  // keep a whole listener from serving.
  return { name: cfg.name, source: sourceOf(cfg, resource, field), initialFetchTimeoutMs: cfg.sdsConfig ? durationMs(cfg.sdsConfig.initialFetchTimeout, 15_000) : 0 };
}

function compileCommon(
  c: CommonTlsContext | undefined,
  side: "downstream" | "upstream",
  resource: string,
  field: string,
  report: (f: string, d?: string) => void,
): Omit<TlsContextSpec, "requireClientCert" | "requireSni" | "sni"> {
  const f = `${field}.common_tls_context`;
  const refs: SecretRef[] = [];
  let certificate: TlsContextSpec["certificate"];
  if (c?.tlsCertificates.length) {
    if (c.tlsCertificates.length > 1) report("tls.common_tls_context.tls_certificates", "only the first certificate is used");
    certificate = { inline: compileTlsCertificate(c.tlsCertificates[0], resource, `${f}.tls_certificates[0]`) };
  } else if (c?.tlsCertificateSdsSecretConfigs.length) {
    if (c.tlsCertificateSdsSecretConfigs.length > 1) report("tls.common_tls_context.tls_certificate_sds_secret_configs", "only the first certificate is used");
    const ref = secretRef(c.tlsCertificateSdsSecretConfigs[0], resource, `${f}.tls_certificate_sds_secret_configs[0]`);
    refs.push(ref);
    certificate = { ref };
  } else if (c?.tlsCertificateProviderInstance || c?.tlsCertificateCertificateProviderInstance) {
    throw new ResourceRejectedError(resource, `${f}.tls_certificate_provider_instance`, "certificate provider instances are not implemented (use SDS)");
  }
  if (side === "downstream" && !certificate) throw new ResourceRejectedError(resource, f, "a server TLS context needs a certificate (tls_certificates or tls_certificate_sds_secret_configs)");

  let validation: TlsContextSpec["validation"];
  const v = c?.validationContextType;
  if (v?.case === "validationContext") validation = { inline: compileValidationContext(v.value, resource, `${f}.validation_context`, report) };
  else if (v?.case === "validationContextSdsSecretConfig") {
    const ref = secretRef(v.value, resource, `${f}.validation_context_sds_secret_config`);
    refs.push(ref);
    validation = { ref };
  } else if (v?.case === "combinedValidationContext") {
    const cv = v.value;
    const inline = cv.defaultValidationContext ? compileValidationContext(cv.defaultValidationContext, resource, `${f}.combined_validation_context.default_validation_context`, report) : undefined;
    if (!cv.validationContextSdsSecretConfig) throw new ResourceRejectedError(resource, `${f}.combined_validation_context.validation_context_sds_secret_config`, "is required");
    const ref = secretRef(cv.validationContextSdsSecretConfig, resource, `${f}.combined_validation_context.validation_context_sds_secret_config`);
    refs.push(ref);
    validation = { inline, ref };
  } else if (v?.case) {
    throw new ResourceRejectedError(resource, `${f}.${v.case}`, "certificate provider validation is not implemented (use SDS)");
  }

  const p = c?.tlsParams;
  const minVersion = version(p?.tlsMinimumProtocolVersion ?? 0, "TLSv1.2");
  const maxVersion = version(p?.tlsMaximumProtocolVersion ?? 0, "TLSv1.3");
  if (ORDER.indexOf(minVersion) > ORDER.indexOf(maxVersion)) {
    throw new ResourceRejectedError(resource, `${f}.tls_params`, `tls_minimum_protocol_version ${minVersion} is above tls_maximum_protocol_version ${maxVersion}`);
  }
  // BoringSSL's equal-preference groups "[A|B]" have no OpenSSL spelling: flatten them in order.
  const ciphers = p?.cipherSuites.length ? p.cipherSuites.flatMap((s) => s.replace(/^\[|\]$/g, "").split("|")).join(":") : undefined;
  if (p?.signatureAlgorithms.length) report("tls.tls_params.signature_algorithms", "not implemented; OpenSSL defaults apply");
  if (c?.customHandshaker) throw new ResourceRejectedError(resource, `${f}.custom_handshaker`, "not implemented");
  if (c?.keyLog) report("tls.common_tls_context.key_log", "not implemented");
  return {
    side,
    certificate,
    validation,
    alpn: c?.alpnProtocols ?? [],
    minVersion,
    maxVersion,
    ciphers,
    ecdhCurves: p?.ecdhCurves.length ? p.ecdhCurves.join(":") : undefined,
    refs,
  };
}

export function compileDownstreamTls(any: Any, resource: string, field: string, report: (f: string, d?: string) => void): TlsContextSpec {
  const d = anyUnpack(any, DownstreamTlsContextSchema);
  if (!d) throw new ResourceRejectedError(resource, field, `expected ${DOWNSTREAM_TLS_TYPE_URL}, got ${any.typeUrl}`);
  const common = compileCommon(d.commonTlsContext, "downstream", resource, field, report);
  const requireClientCert = d.requireClientCertificate ?? false;
  if (requireClientCert && !common.validation) {
    throw new ResourceRejectedError(resource, `${field}.require_client_certificate`, "requires a validation context (trusted CA) to verify client certificates against");
  }
  if (d.sessionTicketKeysType.case) report("tls.downstream.session_ticket_keys", "not implemented; OpenSSL's own ticket keys are used");
  if (d.ocspStaplePolicy) report("tls.downstream.ocsp_staple_policy", "not implemented");
  return { ...common, requireClientCert, requireSni: d.requireSni ?? false };
}

export function compileUpstreamTls(any: Any, resource: string, field: string, report: (f: string, d?: string) => void): TlsContextSpec {
  const u = anyUnpack(any, UpstreamTlsContextSchema);
  if (!u) throw new ResourceRejectedError(resource, field, `expected ${UPSTREAM_TLS_TYPE_URL}, got ${any.typeUrl}`);
  const common = compileCommon(u.commonTlsContext, "upstream", resource, field, report);
  if (u.sni.length > 255) throw new ResourceRejectedError(resource, `${field}.sni`, "longer than 255 characters");
  if (u.allowRenegotiation) report("tls.upstream.allow_renegotiation", "not implemented");
  return { ...common, requireClientCert: false, requireSni: false, sni: u.sni || undefined };
}
