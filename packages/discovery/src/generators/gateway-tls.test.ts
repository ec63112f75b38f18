import type { JsonObject } from "@bufbuild/protobuf";
import { TypeUrl } from "@weft/xds-api";
import { describe, expect, it } from "vitest";
import { generate, proxyOf, validationIssues } from "../test-util/mesh-fixtures.js";
import { json, smallPush } from "../test-util/small-mesh.js";

// Istio's "Secure Gateways" task, plus a second host on 443 and the legacy file form.
const INGRESS_SVC = `apiVersion: v1
kind: Service
metadata: { name: istio-ingressgateway, namespace: istio-system }
spec:
  clusterIP: 10.96.20.10
  selector: { istio: ingressgateway }
  ports: [{ name: http2, port: 80, targetPort: 8080 }, { name: https, port: 443, targetPort: 8443 }]
`;
const gatewayYaml = (servers: string, name = "mygateway"): string => `---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: ${name}, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
${servers}`;
const VS = `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews-public, namespace: default }
spec:
  hosts: [reviews.example.com, bookinfo.example.com]
  gateways: [istio-system/mygateway]
  http:
  - route: [{ destination: { host: reviews, port: { number: 9080 } } }]
`;
const gateway = proxyOf({ type: "router", ip: "10.244.2.5", pod: "ingress", namespace: "istio-system", labels: { istio: "ingressgateway" } });
const ADS = { ads: {}, resource_api_version: "V3" };
const sdsGrpc = (name: string): JsonObject => ({
  name,
  sds_config: {
    api_config_source: { api_type: "GRPC", grpc_services: [{ envoy_grpc: { cluster_name: "sds-grpc" } }], set_node_on_first_message_only: true, transport_api_version: "V3" },
    initial_fetch_timeout: "0s",
    resource_api_version: "V3",
  },
});

function listener(push: ReturnType<typeof smallPush>, name: string): JsonObject {
  const l = json(push, gateway, "Listener").find((x) => x.name === name);
  if (!l) throw new Error(`no listener ${name}; have ${json(push, gateway, "Listener").map((x) => x.name).join(", ")}`);
  return l;
}
const chains = (l: JsonObject): JsonObject[] => l.filter_chains as JsonObject[];
const tlsContext = (c: JsonObject): JsonObject => ((c.transport_socket as JsonObject).typed_config as JsonObject);
const hcmOf = (c: JsonObject): JsonObject => ((c.filters as JsonObject[]).find((f) => f.name === "envoy.filters.network.http_connection_manager")!.typed_config as JsonObject);
const allErrors = (push: ReturnType<typeof smallPush>): string[] => ((push.configJson() as { errors: unknown }).errors as Array<{ object: string; field: string; reason: string }>).map((e) => `${e.object} ${e.field}: ${e.reason}`);

describe("gateway HTTPS servers", () => {
  it("SIMPLE with credentialName: an SNI-matched chain, kubernetes:// SDS over ADS, h2/http1.1, no client certificate, RDS https.<port>.<portName>.<gw>.<ns>", () => {
    const push = smallPush(`${INGRESS_SVC}${gatewayYaml(`  - port: { number: 443, name: https, protocol: HTTPS }
    tls: { mode: SIMPLE, credentialName: bookinfo-credential }
    hosts: [reviews.example.com, "default/bookinfo.example.com"]
`)}${VS}`);
    const l = listener(push, "0.0.0.0_8443");
    expect(l.listener_filters).toEqual([{ name: "envoy.filters.listener.tls_inspector", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" } }]);
    expect(chains(l)).toHaveLength(1);
    const [c] = chains(l);
    expect(c.filter_chain_match).toEqual({ server_names: ["bookinfo.example.com", "reviews.example.com"] });
    expect(c.transport_socket_connect_timeout, "istiod's slow-handshake bound").toBe("15s");
    expect(tlsContext(c)).toEqual({
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
      common_tls_context: { alpn_protocols: ["h2", "http/1.1"], tls_certificate_sds_secret_configs: [{ name: "kubernetes://bookinfo-credential", sds_config: ADS }] },
      require_client_certificate: false,
    });
    expect(hcmOf(c)).toMatchObject({ stat_prefix: "outbound_0.0.0.0_8443", use_remote_address: true, forward_client_cert_details: "SANITIZE_SET", rds: { route_config_name: "https.443.https.mygateway.istio-system" } });
    const rcs = json(push, gateway, "RouteConfiguration");
    expect(rcs.map((r) => r.name)).toEqual(["https.443.https.mygateway.istio-system"]);
    expect((rcs[0].virtual_hosts as JsonObject[]).map((v) => [v.name, v.domains])).toEqual([
      ["reviews.example.com:443", ["reviews.example.com", "reviews.example.com:*"]],
      ["bookinfo.example.com:443", ["bookinfo.example.com", "bookinfo.example.com:*"]],
    ]);
    expect(validationIssues([...generate(push, gateway, TypeUrl.Listener), ...generate(push, gateway, TypeUrl.RouteConfiguration)])).toEqual([]);
  });

  it("MUTUAL: client certificate required, -cacert over ADS with SANs, SPKI and hash pins as the default validation context; TLS versions and ciphers mapped", () => {
    const push = smallPush(`${INGRESS_SVC}${gatewayYaml(`  - port: { number: 443, name: https, protocol: HTTPS }
    tls:
      mode: MUTUAL
      credentialName: bookinfo-credential
      subjectAltNames: [client.example.com]
      verifyCertificateSpki: ["NvqYIYSbgK2vCJpQhObf77vv+bQWtc5ek5RIOwPiC9A="]
      verifyCertificateHash: ["df6ff72fe9116521268f6f2dd4966f51df479883fe7037b39f75916ac3049d1a"]
      minProtocolVersion: TLSV1_3
      maxProtocolVersion: TLSV1_3
      cipherSuites: [ECDHE-RSA-AES256-GCM-SHA384, NOT-A-CIPHER, ECDHE-RSA-AES256-GCM-SHA384]
    hosts: [reviews.example.com]
`)}${VS}`);
    const ctx = tlsContext(chains(listener(push, "0.0.0.0_8443"))[0]);
    expect(ctx.require_client_certificate).toBe(true);
    expect(ctx.common_tls_context).toEqual({
      alpn_protocols: ["h2", "http/1.1"],
      tls_certificate_sds_secret_configs: [{ name: "kubernetes://bookinfo-credential", sds_config: ADS }],
      combined_validation_context: {
        default_validation_context: {
          match_subject_alt_names: [{ exact: "client.example.com" }],
          verify_certificate_spki: ["NvqYIYSbgK2vCJpQhObf77vv+bQWtc5ek5RIOwPiC9A="],
          verify_certificate_hash: ["df6ff72fe9116521268f6f2dd4966f51df479883fe7037b39f75916ac3049d1a"],
        },
        validation_context_sds_secret_config: { name: "kubernetes://bookinfo-credential-cacert", sds_config: ADS },
      },
      tls_params: { tls_minimum_protocol_version: "TLSv1_3", tls_maximum_protocol_version: "TLSv1_3", cipher_suites: ["ECDHE-RSA-AES256-GCM-SHA384"] },
    });
    expect(validationIssues(generate(push, gateway, TypeUrl.Listener))).toEqual([]);
  });

  it("OPTIONAL_MUTUAL validates a certificate when one is sent but does not require it; no tls_params unless set (Envoy's server default TLS 1.2–1.3)", () => {
    const push = smallPush(`${INGRESS_SVC}${gatewayYaml(`  - port: { number: 443, name: https, protocol: HTTPS }
    tls: { mode: OPTIONAL_MUTUAL, credentialName: cred }
    hosts: [reviews.example.com]
`)}${VS}`);
    const ctx = tlsContext(chains(listener(push, "0.0.0.0_8443"))[0]);
    expect(ctx.require_client_certificate).toBe(false);
    expect(ctx.common_tls_context).toMatchObject({ combined_validation_context: { default_validation_context: {}, validation_context_sds_secret_config: { name: "kubernetes://cred-cacert" } } });
    expect((ctx.common_tls_context as JsonObject).tls_params).toBeUndefined();
  });

  it("ISTIO_MUTUAL uses the workload certificate and ROOTCA from the agent's sds-grpc, as the sidecar's inbound mTLS chains", () => {
    const push = smallPush(`${INGRESS_SVC}${gatewayYaml(`  - port: { number: 443, name: https, protocol: HTTPS }
    tls: { mode: ISTIO_MUTUAL }
    hosts: ["*"]
`)}${VS}`);
    const [c] = chains(listener(push, "0.0.0.0_8443"));
    expect(c.filter_chain_match).toBeUndefined(); // `*` → no SNI match
    expect(tlsContext(c)).toMatchObject({
      common_tls_context: { alpn_protocols: ["h2", "http/1.1"], tls_certificate_sds_secret_configs: [sdsGrpc("default")], combined_validation_context: { default_validation_context: {}, validation_context_sds_secret_config: sdsGrpc("ROOTCA") } },
      require_client_certificate: true,
    });
  });

  it("the legacy file form becomes inline filename data sources", () => {
    const push = smallPush(`${INGRESS_SVC}${gatewayYaml(`  - port: { number: 443, name: https, protocol: HTTPS }
    tls: { mode: MUTUAL, serverCertificate: /etc/certs/cert.pem, privateKey: /etc/certs/key.pem, caCertificates: /etc/certs/ca.pem, subjectAltNames: [spiffe://x] }
    hosts: [reviews.example.com]
`)}${VS}`);
    expect(tlsContext(chains(listener(push, "0.0.0.0_8443"))[0]).common_tls_context).toEqual({
      alpn_protocols: ["h2", "http/1.1"],
      tls_certificates: [{ certificate_chain: { filename: "/etc/certs/cert.pem" }, private_key: { filename: "/etc/certs/key.pem" } }],
      validation_context: { trusted_ca: { filename: "/etc/certs/ca.pem" }, match_subject_alt_names: [{ exact: "spiffe://x" }] },
    });
  });

  it("HTTPS servers for different hosts on one port are SNI-matched chains of one listener, each with its own certificate and route config", () => {
    const push = smallPush(`${INGRESS_SVC}${gatewayYaml(`  - port: { number: 443, name: https-reviews, protocol: HTTPS }
    tls: { mode: SIMPLE, credentialName: reviews-cred }
    hosts: [reviews.example.com]
  - port: { number: 443, name: https-bookinfo, protocol: HTTPS }
    tls: { mode: SIMPLE, credentialName: bookinfo-cred }
    hosts: [bookinfo.example.com]
`)}${VS}`);
    const cs = chains(listener(push, "0.0.0.0_8443"));
    expect(cs.map((c) => [c.filter_chain_match, (tlsContext(c).common_tls_context as JsonObject).tls_certificate_sds_secret_configs, (hcmOf(c).rds as JsonObject).route_config_name])).toEqual([
      [{ server_names: ["reviews.example.com"] }, [{ name: "kubernetes://reviews-cred", sds_config: ADS }], "https.443.https-reviews.mygateway.istio-system"],
      [{ server_names: ["bookinfo.example.com"] }, [{ name: "kubernetes://bookinfo-cred", sds_config: ADS }], "https.443.https-bookinfo.mygateway.istio-system"],
    ]);
    const rcs = Object.fromEntries(json(push, gateway, "RouteConfiguration").map((r) => [r.name, (r.virtual_hosts as JsonObject[]).map((v) => v.name)]));
    // each route config only holds the hosts its server admits
    expect(rcs).toEqual({ "https.443.https-reviews.mygateway.istio-system": ["reviews.example.com:443"], "https.443.https-bookinfo.mygateway.istio-system": ["bookinfo.example.com:443"] });
    expect(validationIssues(generate(push, gateway, TypeUrl.Listener))).toEqual([]);
  });
});

describe("gateway TLS servers that terminate", () => {
  it("TLS SIMPLE: the same TLS context, then tcp_proxy to the bound VirtualService's tcp route", () => {
    const push = smallPush(`${gatewayYaml(`  - port: { number: 27018, name: tls-mongo, protocol: TLS }
    tls: { mode: SIMPLE, credentialName: mongo-cred }
    hosts: [mongo.example.com]
`)}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: mongo, namespace: default }
spec:
  hosts: [mongo.example.com]
  gateways: [istio-system/mygateway]
  tcp:
  - match: [{ port: 27018 }]
    route: [{ destination: { host: mongo, port: { number: 27017 } } }]
`);
    const [c] = chains(listener(push, "0.0.0.0_27018"));
    expect(c.filter_chain_match).toEqual({ server_names: ["mongo.example.com"] });
    expect(tlsContext(c)).toMatchObject({ common_tls_context: { tls_certificate_sds_secret_configs: [{ name: "kubernetes://mongo-cred" }] }, require_client_certificate: false });
    expect((c.filters as JsonObject[]).at(-1)).toMatchObject({ name: "envoy.filters.network.tcp_proxy", typed_config: { cluster: "outbound|27017||mongo.default.svc.cluster.local" } });
    expect(validationIssues(generate(push, gateway, TypeUrl.Listener))).toEqual([]);
  });

  it("TLS ISTIO_MUTUAL offers istio-peer-exchange to in-mesh clients (istiod's ALPNDownstreamWithMxc)", () => {
    const push = smallPush(`${gatewayYaml(`  - port: { number: 15443, name: tls, protocol: TLS }
    tls: { mode: ISTIO_MUTUAL }
    hosts: ["*"]
`)}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: mongo, namespace: default }
spec:
  hosts: ["*"]
  gateways: [istio-system/mygateway]
  tcp: [{ route: [{ destination: { host: mongo, port: { number: 27017 } } }] }]
`);
    const [chain] = chains(listener(push, "0.0.0.0_15443"));
    expect(tlsContext(chain).common_tls_context).toMatchObject({ alpn_protocols: ["istio-peer-exchange", "h2", "http/1.1"] });
    // ...and so reads their exchange header before tcp_proxy (else it would reach the upstream as data).
    expect((chain.filters as JsonObject[]).map((f) => f.name)[0]).toBe("istio.metadata_exchange");
    expect(chain.transport_socket_connect_timeout).toBe("15s");
  });
});

describe("gateway httpsRedirect", () => {
  it("marks the HTTP server's virtual hosts require_tls ALL and adds a redirect-only virtual host for hosts no VirtualService covers", () => {
    const push = smallPush(`${INGRESS_SVC}${gatewayYaml(`  - port: { number: 80, name: http, protocol: HTTP }
    tls: { httpsRedirect: true }
    hosts: [reviews.example.com, shop.example.com]
  - port: { number: 443, name: https, protocol: HTTPS }
    tls: { mode: SIMPLE, credentialName: cred }
    hosts: [reviews.example.com, shop.example.com]
`)}${VS}`);
    const byName: Record<string, JsonObject[]> = Object.fromEntries(json(push, gateway, "RouteConfiguration").map((r) => [r.name, r.virtual_hosts as JsonObject[]]));
    expect(byName["http.8080"].map((v) => [v.name, v.require_tls, ((v.routes as JsonObject[] | undefined) ?? []).length])).toEqual([
      ["reviews.example.com:80", "ALL", 1],
      ["shop.example.com:80", "ALL", 0],
    ]);
    // the HTTPS server itself does not redirect
    expect(byName["https.443.https.mygateway.istio-system"].every((v) => v.require_tls === undefined)).toBe(true);
    expect(validationIssues(generate(push, gateway, TypeUrl.RouteConfiguration))).toEqual([]);
  });
});

describe("gateway server conflicts and invalid servers", () => {
  it("HTTP and HTTPS on one port: the first server keeps the port, the other is reported and skipped", () => {
    const push = smallPush(`${INGRESS_SVC}${gatewayYaml(`  - port: { number: 8000, name: http, protocol: HTTP }
    hosts: [reviews.example.com]
  - port: { number: 8000, name: https, protocol: HTTPS }
    tls: { mode: SIMPLE, credentialName: cred }
    hosts: [bookinfo.example.com]
`)}${VS}`);
    const l = listener(push, "0.0.0.0_8000");
    expect(chains(l)).toHaveLength(1);
    expect(chains(l)[0].transport_socket).toBeUndefined();
    expect(json(push, gateway, "RouteConfiguration").map((r) => r.name)).toEqual(["http.8000"]);
    expect(allErrors(push)).toEqual([expect.stringMatching(/^Gateway istio-system\/mygateway spec\.servers\[1\]: port 8000 conflicts with the existing istio-system\/mygateway server 8000\.HTTP: .*skipped$/)]);
  });

  it("HTTPS first, then HTTP on the same port: the HTTPS server keeps it", () => {
    const push = smallPush(`${INGRESS_SVC}${gatewayYaml(`  - port: { number: 8000, name: https, protocol: HTTPS }
    tls: { mode: SIMPLE, credentialName: cred }
    hosts: [bookinfo.example.com]
  - port: { number: 8000, name: http, protocol: HTTP }
    hosts: [reviews.example.com]
`)}${VS}`);
    expect(chains(listener(push, "0.0.0.0_8000")).map((c) => c.filter_chain_match)).toEqual([{ server_names: ["bookinfo.example.com"] }]);
    expect(allErrors(push)).toHaveLength(1);
  });

  it("a second server with the same TLS host on the port is reported and skipped (Envoy rejects duplicate SNI matches)", () => {
    const push = smallPush(`${INGRESS_SVC}${gatewayYaml(`  - port: { number: 443, name: https-a, protocol: HTTPS }
    tls: { mode: SIMPLE, credentialName: a }
    hosts: [reviews.example.com]
`)}${gatewayYaml(`  - port: { number: 443, name: https-b, protocol: HTTPS }
    tls: { mode: SIMPLE, credentialName: b }
    hosts: [reviews.example.com]
`, "other")}${VS}`);
    expect(chains(listener(push, "0.0.0.0_8443"))).toHaveLength(1);
    expect(allErrors(push)).toEqual([expect.stringContaining("Gateway istio-system/other spec.servers[0]: duplicate host names on port 8443: reviews.example.com")]);
    expect(validationIssues(generate(push, gateway, TypeUrl.Listener))).toEqual([]);
  });

  it.each([
    ["SIMPLE without credentialName or files", "{ mode: SIMPLE }", "SIMPLE TLS requires a server certificate; SIMPLE TLS requires a private key"],
    ["MUTUAL with only a certificate", "{ mode: MUTUAL, serverCertificate: /c.pem }", "MUTUAL TLS requires a private key; MUTUAL TLS requires a client CA bundle"],
    ["ISTIO_MUTUAL with a credentialName", "{ mode: ISTIO_MUTUAL, credentialName: x }", "ISTIO_MUTUAL TLS cannot have associated credentialName"],
  ])("%s is reported with istiod's message and skipped; the Gateway's other servers still serve", (_name, tls, message) => {
    const push = smallPush(`${INGRESS_SVC}${gatewayYaml(`  - port: { number: 80, name: http, protocol: HTTP }
    hosts: [reviews.example.com]
  - port: { number: 443, name: https, protocol: HTTPS }
    tls: ${tls}
    hosts: [bookinfo.example.com]
`)}${VS}`);
    expect(json(push, gateway, "Listener").map((l) => l.name)).toEqual(["0.0.0.0_8080"]);
    expect(allErrors(push)).toEqual([`Gateway istio-system/mygateway spec.servers[1].tls: ${message}; this server is skipped (istiod's webhook rejects the Gateway)`]);
  });

  it("an HTTPS server with no tls at all is reported, not a crash", () => {
    const push = smallPush(`${INGRESS_SVC}${gatewayYaml(`  - port: { number: 443, name: https, protocol: HTTPS }
    hosts: [bookinfo.example.com]
`)}${VS}`);
    expect(json(push, gateway, "Listener")).toEqual([]);
    expect(allErrors(push)).toEqual([expect.stringContaining("server must have TLS settings for HTTPS/TLS protocols")]);
  });
});
