import type { JsonObject } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { proxyOf } from "../test-util/mesh-fixtures.js";
import { json, smallPush } from "../test-util/small-mesh.js";

const GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: istio-system }
spec: { selector: { istio: ingressgateway }, servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }] }
`;
const gateway = () => proxyOf({ type: "router", ip: "10.1.0.30", pod: "istio-ingressgateway-1", namespace: "istio-system", labels: { istio: "ingressgateway" } });
const hcmOf = (push: ReturnType<typeof smallPush>): JsonObject => {
  const l = json(push, gateway(), "Listener").find((x) => x.name === "0.0.0.0_80")!;
  return (((l.filter_chains as JsonObject[])[0]!.filters as JsonObject[])[0]!.typed_config as JsonObject);
};

describe("gateway HTTP listeners", () => {
  it("sanitize X-Forwarded-Client-Cert and set their own (SANITIZE_SET, subject/dns/uri)", () => {
    const hcm = hcmOf(smallPush(GATEWAY));
    expect([hcm.forward_client_cert_details, hcm.set_current_client_cert_details]).toEqual(["SANITIZE_SET", { subject: true, dns: true, uri: true }]);
    expect((hcm.http_filters as JsonObject[]).map((f) => f.name)).toEqual(["istio.metadata_exchange", "istio.alpn", "envoy.filters.http.fault", "envoy.filters.http.cors", "istio.stats", "envoy.filters.http.router"]);
  });

  it("run the jwt_authn and rbac filters of policies selecting the gateway", () => {
    const push = smallPush(`${GATEWAY}---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ingress, namespace: istio-system }
spec: { selector: { matchLabels: { istio: ingressgateway } }, action: DENY, rules: [{ from: [{ source: { notRequestPrincipals: ["*"] } }], to: [{ operation: { paths: ["/private*"] } }] }] }
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: ingress, namespace: istio-system }
spec: { selector: { matchLabels: { istio: ingressgateway } }, jwtRules: [{ issuer: issuer-1, jwks: '{"keys":[]}' }] }
`);
    const filters = hcmOf(push).http_filters as JsonObject[];
    expect(filters.map((f) => f.name)).toEqual(["istio.metadata_exchange", "envoy.filters.http.jwt_authn", "envoy.filters.http.rbac", "istio.alpn", "envoy.filters.http.fault", "envoy.filters.http.cors", "istio.stats", "envoy.filters.http.router"]);
    // "no request principal" = not (a verified token of issuer-1 with a subject).
    expect(JSON.stringify(filters[2])).toContain('{"not_id":{"or_ids":{"ids":[{"metadata":{"filter":"envoy.filters.http.jwt_authn","path":[{"key":"issuer-1"},{"key":"sub"}],"value":{"string_match":{"safe_regex":{"regex":".+"}}}}}]}}}');
  });
});
