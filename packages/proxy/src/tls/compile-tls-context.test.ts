// Bad TLS contexts are rejected naming the field (→ NACK), and Istio's shapes compile.
import { fromEnvoyJson } from "@weft/xds-api";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { DownstreamTlsContextSchema, UpstreamTlsContextSchema } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { describe, expect, it } from "vitest";
import { compileDownstreamTls, compileUpstreamTls } from "./compile-tls-context.js";
import { commonTls } from "../test-util/tls-config.js";

const down = (j: Record<string, unknown>) => anyPack(DownstreamTlsContextSchema, fromEnvoyJson(DownstreamTlsContextSchema, j as never));
const up = (j: Record<string, unknown>) => anyPack(UpstreamTlsContextSchema, fromEnvoyJson(UpstreamTlsContextSchema, j as never));
const report = () => {};

describe("compileDownstreamTls / compileUpstreamTls", () => {
  it("compiles Istio's inbound context: SDS from sds-grpc, client certificates required", () => {
    const spec = compileDownstreamTls(down({ common_tls_context: commonTls({ kind: "grpc", cluster: "sds-grpc" }, { alpn: ["h2", "http/1.1"] }), require_client_certificate: true }), "l", "tls", report);
    expect(spec.requireClientCert).toBe(true);
    expect(spec.refs).toEqual([
      { name: "default", source: { kind: "grpc", key: "grpc:sds-grpc", cluster: "sds-grpc", delta: false }, initialFetchTimeoutMs: 0 },
      { name: "ROOTCA", source: { kind: "grpc", key: "grpc:sds-grpc", cluster: "sds-grpc", delta: false }, initialFetchTimeoutMs: 0 },
    ]);
  });

  it("keeps each SDS secret's initial_fetch_timeout: Envoy's 15 s when unset, 0 (forever) as Istio sets for the workload certificate", () => {
    const withTimeout = (timeout?: string) =>
      compileDownstreamTls(down({ common_tls_context: { tls_certificate_sds_secret_configs: [{ name: "kubernetes://cred", sds_config: { ads: {}, resource_api_version: "V3", ...(timeout ? { initial_fetch_timeout: timeout } : {}) } }] } }), "l", "tls", report).refs[0].initialFetchTimeoutMs;
    expect(withTimeout()).toBe(15_000);
    expect(withTimeout("0s")).toBe(0);
    expect(withTimeout("2.5s")).toBe(2500);
  });

  it.each([
    ["a server context without a certificate", down({ common_tls_context: {} }), /^l: tls\.common_tls_context: a server TLS context needs a certificate/],
    ["require_client_certificate without a validation context", down({ common_tls_context: { tls_certificate_sds_secret_configs: [{ name: "default" }] }, require_client_certificate: true }), /^l: tls\.require_client_certificate: requires a validation context/],
    ["min above max", down({ common_tls_context: { tls_certificate_sds_secret_configs: [{ name: "d" }], tls_params: { tls_minimum_protocol_version: "TLSv1_3", tls_maximum_protocol_version: "TLSv1_2" } } }), /tls_params: tls_minimum_protocol_version TLSv1\.3 is above/],
    ["an SDS secret without a name", down({ common_tls_context: { tls_certificate_sds_secret_configs: [{ name: "" }] } }), /tls_certificate_sds_secret_configs\[0\]\.name: must not be empty/],
    ["SDS over REST", down({ common_tls_context: { tls_certificate_sds_secret_configs: [{ name: "d", sds_config: { api_config_source: { api_type: "REST", cluster_names: ["x"] } } }] } }), /api_config_source\.api_type: REST is not supported for SDS/],
    ["an inline certificate that is not PEM", down({ common_tls_context: { tls_certificates: [{ certificate_chain: { inline_string: "nope" }, private_key: { inline_string: "nope" } }] } }), /tls_certificates\[0\]\.certificate_chain: a PEM certificate chain is required/],
    ["a key file that does not exist", down({ common_tls_context: { tls_certificates: [{ certificate_chain: { filename: "/nonexistent/cert.pem" }, private_key: { filename: "/nonexistent/key.pem" } }] } }), /certificate_chain\.filename: cannot read \/nonexistent\/cert\.pem/],
  ])("rejects %s naming the field", (_what, any, re) => {
    expect(() => compileDownstreamTls(any, "l", "tls", report)).toThrow(re);
  });

  it("upstream: sni, no certificate needed, SAN matchers compiled", () => {
    const spec = compileUpstreamTls(up({ common_tls_context: { combined_validation_context: { default_validation_context: { match_subject_alt_names: [{ exact: "spiffe://cluster.local/ns/a/sa/b" }] }, validation_context_sds_secret_config: { name: "ROOTCA", sds_config: { ads: {} } } } }, sni: "outbound_.80_._.b.a.svc.cluster.local" }), "c", "transport_socket", report);
    expect(spec.certificate).toBeUndefined();
    expect(spec.sni).toBe("outbound_.80_._.b.a.svc.cluster.local");
    expect(spec.validation!.inline!.sanMatch!([{ type: "URI", value: "spiffe://cluster.local/ns/a/sa/b", hasNul: false }])).toBe(true);
    expect(spec.validation!.inline!.sanMatch!([{ type: "DNS", value: "spiffe://cluster.local/ns/a/sa/b", hasNul: false }])).toBe(true);
    expect(spec.validation!.inline!.sanMatch!([{ type: "URI", value: "spiffe://cluster.local/ns/a/sa/c", hasNul: false }])).toBe(false);
  });

  it("typed SAN matchers only match their SAN type; DNS exact accepts a one-label wildcard SAN", () => {
    const spec = compileUpstreamTls(up({ common_tls_context: { validation_context: { match_typed_subject_alt_names: [{ san_type: "URI", matcher: { prefix: "spiffe://cluster.local/" } }, { san_type: "DNS", matcher: { exact: "api.example.com" } }] } } }), "c", "ts", report);
    const m = spec.validation!.inline!.sanMatch!;
    expect(m([{ type: "DNS", value: "spiffe://cluster.local/x", hasNul: false }])).toBe(false);
    expect(m([{ type: "URI", value: "spiffe://cluster.local/x", hasNul: false }])).toBe(true);
    expect(m([{ type: "DNS", value: "*.example.com", hasNul: false }])).toBe(true);
    expect(m([{ type: "DNS", value: "*.com", hasNul: false }])).toBe(false);
  });
});
