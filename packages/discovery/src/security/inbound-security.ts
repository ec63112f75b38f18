// What security adds to a sidecar's virtualInbound listener: per inbound port
// the filter chains its PeerAuthentication mode calls for, the
// DownstreamTlsContext of the mTLS chains, tls_inspector, and the HTTP
// (jwt_authn, rbac) and network (rbac) filters of the workload's
// RequestAuthentication and AuthorizationPolicy. Chain shapes follow
// istiod's inbound filter chain match options (compare the authz dump):
//   STRICT     TLS only (transport_protocol tls); plaintext matches no chain,
//              so the connection is closed.
//   PERMISSIVE an mTLS chain (transport_protocol tls + Istio's ALPNs), a
//              plaintext chain (raw_buffer), and for TCP a chain for the
//              app's own TLS (tls without Istio ALPNs, passed through).
//   DISABLE    one plaintext chain (raw_buffer).
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { ProxyInfo } from "../contracts.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { typed } from "../generators/envoy-json.js";
import { httpRbacFilters, networkRbacFilters } from "./authz-filters.js";
import { issuersOf, jwtAuthnFilter, jwtRulesFor } from "./jwt-authn.js";
import { modeForPort, peerAuthenticationFor, type MtlsMode, type PeerAuthnResult } from "./peer-authentication.js";
import { trustDomains, type WorkloadRef } from "./policy-scope.js";
import { inboundTlsSocket, MTLS_HTTP_ALPNS, MTLS_HTTP_PORT_ALPNS, MTLS_TCP_ALPNS, PLAINTEXT_HTTP_ALPNS } from "./tls-context.js";

export interface InboundSecurity {
  peerAuthn: PeerAuthnResult;
  /** jwt_authn then rbac filters, to put before the sidecar's own HTTP filters. */
  httpFilters: JsonObject[];
  /** rbac network filters, to put before tcp_proxy. */
  networkFilters: JsonObject[];
  trustDomains: string[];
}

export function inboundSecurity(push: MeshPushContext, proxy: ProxyInfo): InboundSecurity {
  const w: WorkloadRef = { namespace: proxy.namespace, labels: proxy.labels };
  const jwtRules = jwtRulesFor(push, w);
  const jwt = jwtAuthnFilter(jwtRules);
  return {
    peerAuthn: peerAuthenticationFor(push, w),
    httpFilters: [...(jwt ? [jwt] : []), ...httpRbacFilters(push, w, issuersOf(jwtRules))],
    networkFilters: networkRbacFilters(push, w),
    trustDomains: trustDomains(push),
  };
}

export interface ChainInput {
  name: string;
  /** The chain's own match (destination_port, or prefix_ranges for the catch-all chains). */
  match: JsonObject;
  http: boolean;
  filters: JsonValue[];
  /** Set for the passthrough chains (their ALPN lists differ from a port's). */
  catchAll?: boolean;
}

/** The filter chains for one inbound port (or passthrough) under `mode`. */
export function securedChains(sec: InboundSecurity, mode: MtlsMode, c: ChainInput): JsonObject[] {
  const chain = (match: JsonObject, tls: boolean): JsonObject => ({
    name: c.name,
    filter_chain_match: { ...c.match, ...match },
    filters: c.filters,
    ...(tls ? { transport_socket: inboundTlsSocket(c.http, sec.trustDomains) } : {}),
  });
  const plaintextHttp: JsonObject = c.http && c.catchAll ? { application_protocols: PLAINTEXT_HTTP_ALPNS } : {};
  // DISABLE: plaintext only (istiod's inboundPlainText* options); TLS matches nothing and is closed.
  if (mode === "DISABLE") return [chain({ transport_protocol: "raw_buffer", ...plaintextHttp }, false)];
  const mtlsAlpns = c.http ? (c.catchAll ? MTLS_HTTP_ALPNS : MTLS_HTTP_PORT_ALPNS) : MTLS_TCP_ALPNS;
  if (mode === "STRICT") {
    // istiod's inboundStrict*Options: a port's chain takes any TLS (the handshake demands a
    // mesh certificate); the passthrough HTTP chain is told apart by Istio's HTTP ALPNs.
    const strict: JsonObject = c.catchAll && c.http ? { transport_protocol: "tls", application_protocols: mtlsAlpns } : { transport_protocol: "tls" };
    return [chain(strict, true)];
  }
  const out = [chain({ transport_protocol: "tls", application_protocols: mtlsAlpns }, true), chain({ transport_protocol: "raw_buffer", ...plaintextHttp }, false)];
  // The app's own TLS on a TCP port passes through untouched.
  if (!c.http) out.push(chain({ transport_protocol: "tls" }, false));
  return out;
}

export function chainMode(sec: InboundSecurity, port: number | undefined): MtlsMode {
  return port === undefined ? sec.peerAuthn.mode : modeForPort(sec.peerAuthn, port);
}

/** virtualInbound's listener filters: original_dst, tls_inspector and http_inspector (not on 15006 itself, as istiod). */
export function inboundListenerFilters(): JsonObject[] {
  const self = { destination_port_range: { start: 15006, end: 15007 } };
  return [
    { name: "envoy.filters.listener.original_dst", typed_config: typed("envoy.extensions.filters.listener.original_dst.v3.OriginalDst") },
    { name: "envoy.filters.listener.tls_inspector", typed_config: typed("envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"), filter_disabled: self },
    { name: "envoy.filters.listener.http_inspector", typed_config: typed("envoy.extensions.filters.listener.http_inspector.v3.HttpInspector"), filter_disabled: self },
  ];
}
