// Envoy-JSON snippets for TLS tests, in the exact shapes Istio sends
// (tls_certificate_sds_secret_configs `default`, combined validation with
// `ROOTCA`), pointing at static secrets or at an SDS cluster.
const TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.";

export type SdsSource = { kind: "static" } | { kind: "grpc"; cluster: string } | { kind: "ads" };

export function sdsConfig(src: SdsSource): Record<string, unknown> | undefined {
  if (src.kind === "static") return undefined;
  if (src.kind === "ads") return { ads: {}, initial_fetch_timeout: "0s", resource_api_version: "V3" };
  return {
    api_config_source: { api_type: "GRPC", grpc_services: [{ envoy_grpc: { cluster_name: src.cluster } }], set_node_on_first_message_only: true, transport_api_version: "V3" },
    initial_fetch_timeout: "0s",
    resource_api_version: "V3",
  };
}

export function commonTls(src: SdsSource, o: { alpn?: string[]; san?: Record<string, unknown>[]; typedSan?: Record<string, unknown>[]; cert?: string; root?: string; allowExpired?: boolean } = {}): Record<string, unknown> {
  const sds = sdsConfig(src);
  return {
    tls_params: { tls_minimum_protocol_version: "TLSv1_2", tls_maximum_protocol_version: "TLSv1_3" },
    alpn_protocols: o.alpn ?? [],
    tls_certificate_sds_secret_configs: [{ name: o.cert ?? "default", ...(sds ? { sds_config: sds } : {}) }],
    combined_validation_context: {
      default_validation_context: {
        ...(o.san ? { match_subject_alt_names: o.san } : {}),
        ...(o.typedSan ? { match_typed_subject_alt_names: o.typedSan } : {}),
        ...(o.allowExpired ? { allow_expired_certificate: true } : {}),
      },
      validation_context_sds_secret_config: { name: o.root ?? "ROOTCA", ...(sds ? { sds_config: sds } : {}) },
    },
  };
}

export function downstreamTls(src: SdsSource, o: Parameters<typeof commonTls>[1] & { requireClientCert?: boolean } = {}): Record<string, unknown> {
  return {
    name: "envoy.transport_sockets.tls",
    typed_config: { "@type": TYPE + "DownstreamTlsContext", common_tls_context: commonTls(src, o), require_client_certificate: o.requireClientCert ?? true },
  };
}

export function upstreamTls(src: SdsSource, o: Parameters<typeof commonTls>[1] & { sni?: string } = {}): Record<string, unknown> {
  return {
    name: "envoy.transport_sockets.tls",
    typed_config: { "@type": TYPE + "UpstreamTlsContext", common_tls_context: commonTls(src, o), ...(o.sni ? { sni: o.sni } : {}) },
  };
}

/** static_resources.secrets entries: `default` (tls_certificate) and `ROOTCA` (validation_context). */
export function staticSecrets(certPem: string, keyPem: string, rootPem: string, names = { cert: "default", root: "ROOTCA" }): Record<string, unknown>[] {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  return [
    { name: names.cert, tls_certificate: { certificate_chain: { inline_bytes: b64(certPem) }, private_key: { inline_bytes: b64(keyPem) } } },
    { name: names.root, validation_context: { trusted_ca: { inline_bytes: b64(rootPem) } } },
  ];
}
