// The TLS pieces istiod puts in listeners and clusters for Istio mTLS: SDS
// secret configs that point at the agent's `sds-grpc` cluster (secrets
// `default` = the workload certificate, `ROOTCA` = the mesh root), TLS
// parameters, and the ALPN lists (compare shared/testdata/istio/
// http-config-dump.json's tlsMode-istio match and sidecar-configdump-authz.yaml's
// inbound DownstreamTlsContext).
import type { JsonObject } from "@bufbuild/protobuf";
import { typed } from "../generators/envoy-json.js";

export const SDS_DEFAULT = "default";
export const SDS_ROOTCA = "ROOTCA";

/** Inbound mTLS chains accept these ALPNs (Istio's mtlsHTTPALPNs / mtlsTCPWithMxcALPNs). */
export const MTLS_HTTP_ALPNS = ["istio-http/1.0", "istio-http/1.1", "istio-h2"];
export const MTLS_TCP_ALPNS = ["istio-peer-exchange", "istio"];
/** A permissive HTTP port's TLS chain (as the authz dump's `0.0.0.0_80` chain). */
export const MTLS_HTTP_PORT_ALPNS = ["istio", "istio-peer-exchange", ...MTLS_HTTP_ALPNS];
/** Plaintext HTTP as http_inspector reports it (Istio's plaintextHTTPALPNs, catch-all chain). */
export const PLAINTEXT_HTTP_ALPNS = ["http/1.1", "h2c"];

/** Istio's upstream ALPN for ISTIO_MUTUAL (ALPNInMeshWithMxc / ALPNInMeshH2WithMxc). */
export function upstreamMeshAlpn(http2: boolean): string[] {
  return http2 ? ["istio-peer-exchange", "istio", "h2"] : ["istio-peer-exchange", "istio"];
}

/** An SDS secret config fetched from the agent over `sds-grpc`, as istiod writes it for sidecars. */
export function sdsSecret(name: string): JsonObject {
  return {
    name,
    sds_config: {
      api_config_source: { api_type: "GRPC", grpc_services: [{ envoy_grpc: { cluster_name: "sds-grpc" } }], set_node_on_first_message_only: true, transport_api_version: "V3" },
      initial_fetch_timeout: "0s",
      resource_api_version: "V3",
    },
  };
}

/** A secret served by discovery itself over ADS (credentialName: `kubernetes://<name>`). */
export function adsSecret(name: string): JsonObject {
  return { name, sds_config: { ads: {}, resource_api_version: "V3" } };
}

const INBOUND_TLS_PARAMS: JsonObject = {
  tls_minimum_protocol_version: "TLSv1_2",
  tls_maximum_protocol_version: "TLSv1_3",
  cipher_suites: ["ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-GCM-SHA256"],
};

const UPSTREAM_TLS_PARAMS: JsonObject = { tls_minimum_protocol_version: "TLSv1_2", tls_maximum_protocol_version: "TLSv1_3" };

/** `match_subject_alt_names` entries for exact SPIFFE ids. */
export function exactSans(sans: readonly string[]): JsonObject[] {
  return sans.map((s) => ({ exact: s }));
}

/**
 * The inbound DownstreamTlsContext of an mTLS chain: the workload certificate,
 * a client certificate required and checked against the mesh root, and any
 * peer of the mesh's trust domains accepted (authorization decides who).
 */
export function inboundTlsSocket(http: boolean, trustDomains: readonly string[]): JsonObject {
  return {
    name: "envoy.transport_sockets.tls",
    typed_config: typed("envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext", {
      common_tls_context: {
        tls_params: INBOUND_TLS_PARAMS,
        alpn_protocols: http ? ["h2", "http/1.1"] : ["istio-peer-exchange", "h2", "http/1.1"],
        tls_certificate_sds_secret_configs: [sdsSecret(SDS_DEFAULT)],
        combined_validation_context: {
          default_validation_context: { match_subject_alt_names: trustDomains.map((td) => ({ prefix: `spiffe://${td}/` })) },
          validation_context_sds_secret_config: sdsSecret(SDS_ROOTCA),
        },
      },
      require_client_certificate: true,
    }),
  };
}

/** An UpstreamTlsContext transport socket for ISTIO_MUTUAL: SNI `outbound_.<port>_.<subset>_.<host>`, SANs of the destination. */
export function istioMutualSocket(sni: string, sans: readonly string[], http2: boolean): JsonObject {
  const validation: JsonObject = sans.length > 0 ? { match_subject_alt_names: exactSans(sans) } : {};
  return {
    name: "envoy.transport_sockets.tls",
    typed_config: typed("envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", {
      common_tls_context: {
        tls_params: UPSTREAM_TLS_PARAMS,
        alpn_protocols: upstreamMeshAlpn(http2),
        tls_certificate_sds_secret_configs: [sdsSecret(SDS_DEFAULT)],
        combined_validation_context: { default_validation_context: validation, validation_context_sds_secret_config: sdsSecret(SDS_ROOTCA) },
      },
      sni,
    }),
  };
}

export const RAW_BUFFER_SOCKET: JsonObject = { name: "envoy.transport_sockets.raw_buffer", typed_config: typed("envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer") };

/** Istio's SNI for in-mesh mTLS towards a cluster (`outbound_.9080_.v1_.reviews.default.svc.cluster.local`). */
export function meshSni(port: number, subset: string, host: string): string {
  return `outbound_.${port}_.${subset}_.${host}`;
}

/**
 * Istio's `istio.alpn` HTTP filter on sidecar outbound listeners: towards an
 * mTLS endpoint the client offers `istio-http/1.1`/`istio-h2` (then `istio`
 * and the plain protocol), so the server's virtualInbound knows the mTLS
 * stream is HTTP (its catch-all HTTP chain matches these ALPNs).
 */
export const ISTIO_ALPN_FILTER: JsonObject = {
  name: "istio.alpn",
  typed_config: typed("istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig", {
    alpn_override: [
      { upstream_protocol: "HTTP10", alpn_override: ["istio-http/1.0", "istio", "http/1.0"] },
      { upstream_protocol: "HTTP11", alpn_override: ["istio-http/1.1", "istio", "http/1.1"] },
      { upstream_protocol: "HTTP2", alpn_override: ["istio-h2", "istio", "h2"] },
    ],
  }),
};
