// Security fields of a gateway's HTTP connection manager: the gateway is the
// edge, so it sanitizes X-Forwarded-Client-Cert and sets its own
// (meshConfig gatewayTopology default SANITIZE_SET, with subject/dns/uri as
// istiod sets them), and runs the jwt_authn and rbac filters of the
// RequestAuthentication and AuthorizationPolicy selecting the gateway's pods,
// then istio.alpn (its upstream mTLS offers Istio's HTTP ALPNs).
import type { JsonObject } from "@bufbuild/protobuf";
import type { ProxyInfo } from "../contracts.js";
import { SIDECAR_HTTP_FILTERS } from "../generators/envoy-json.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { httpRbacFilters } from "./authz-filters.js";
import { issuersOf, jwtAuthnFilter, jwtRulesFor } from "./jwt-authn.js";
import { ISTIO_ALPN_FILTER } from "./tls-context.js";

export function gatewaySecurityFields(push: MeshPushContext, proxy: ProxyInfo): JsonObject {
  const w = { namespace: proxy.namespace, labels: proxy.labels };
  const rules = jwtRulesFor(push, w);
  const jwt = jwtAuthnFilter(rules);
  const filters = [...(jwt ? [jwt] : []), ...httpRbacFilters(push, w, issuersOf(rules))];
  return {
    forward_client_cert_details: "SANITIZE_SET",
    set_current_client_cert_details: { subject: true, dns: true, uri: true },
    // istio.alpn as on sidecar outbound listeners: the gateway is a client of the mesh's mTLS too.
    http_filters: [...filters, ISTIO_ALPN_FILTER, ...SIDECAR_HTTP_FILTERS],
  };
}
