// The SDS generator: what each name becomes, and istiod's SecretGen
// authorization — nothing for an unauthenticated stream, nothing from another
// namespace, the proxy's own namespace served (sidecars too, as istiod).
import { pino } from "pino";
import { TypeUrl } from "@weft/xds-api";
import { beforeAll, describe, expect, it } from "vitest";
import type { ProxyInfo, VerifiedIdentity } from "../contracts.js";
import { createPushContextBuilder, type MeshPushContext } from "../push-context/push-context.js";
import { proxyOf, resourceJson, snapshotOf, validationIssues } from "../test-util/mesh-fixtures.js";
import { makeTestPki, secretYaml, type TestPki } from "../test-util/tls-fixtures.js";
import { createXdsGenerators } from "./create-generators.js";

let pki: TestPki;
let push: MeshPushContext;
const logs: Array<{ msg: string; level: number }> = [];
const logger = pino({ level: "warn" }, { write: (line: string) => void logs.push(JSON.parse(line) as { msg: string; level: number }) });
const sds = createXdsGenerators({ logger }).get(TypeUrl.Secret)!;

beforeAll(async () => {
  pki = await makeTestPki();
  const s = snapshotOf(
    [
      secretYaml({ name: "httpbin-credential", type: "kubernetes.io/tls", data: { "tls.crt": pki.serverCertPem, "tls.key": pki.serverKeyPem, "ca.crt": pki.caPem, "ca.crl": pki.crlPem } }),
      secretYaml({ name: "prod-credential", namespace: "prod", type: "kubernetes.io/tls", data: { "tls.crt": pki.serverCertPem, "tls.key": pki.serverKeyPem } }),
    ].join("---\n"),
  );
  expect(s.errors).toEqual([]);
  push = createPushContextBuilder().build(s);
});

const GATEWAY = { type: "router" as const, ip: "10.0.0.9", pod: "istio-ingressgateway-1", namespace: "istio-system", labels: { istio: "ingressgateway" } };
const verified = (proxy: ProxyInfo, identity: VerifiedIdentity | undefined): ProxyInfo => (identity ? { ...proxy, verifiedIdentity: identity } : proxy);
const gateway = (identity?: VerifiedIdentity) => verified(proxyOf(GATEWAY), identity);
const OWN = { namespace: "istio-system", serviceAccount: "istio-ingressgateway-service-account" };
const NAMES = ["kubernetes://httpbin-credential", "kubernetes://httpbin-credential-cacert"];

describe("SDS generator", () => {
  it("serves kubernetes://<name> as a tls_certificate and <name>-cacert as a validation_context", () => {
    const out = sds.generate(gateway(OWN), push, TypeUrl.Secret, NAMES);
    expect(out.map((r) => r.name)).toEqual(NAMES);
    expect(validationIssues(out)).toEqual([]);
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    expect(resourceJson(out[0])).toEqual({
      name: "kubernetes://httpbin-credential",
      tls_certificate: { certificate_chain: { inline_bytes: b64(pki.serverCertPem) }, private_key: { inline_bytes: b64(pki.serverKeyPem) } },
    });
    expect(resourceJson(out[1])).toEqual({
      name: "kubernetes://httpbin-credential-cacert",
      validation_context: { trusted_ca: { inline_bytes: b64(pki.caPem) }, crl: { inline_bytes: b64(pki.crlPem) } },
    });
  });

  it("gives an unauthenticated stream nothing (the server warns once per stream)", () => {
    expect(sds.generate(gateway(), push, TypeUrl.Secret, NAMES)).toEqual([]);
  });

  it("gives nothing from another namespace, by either name form, and says why", () => {
    logs.length = 0;
    const inProd = verified(proxyOf({ ...GATEWAY, namespace: "prod" }), { namespace: "prod", serviceAccount: "gw" });
    // kubernetes://<name> resolves in the proxy's own (verified) namespace: istio-system's Secret is not visible from prod.
    expect(sds.generate(inProd, push, TypeUrl.Secret, ["kubernetes://httpbin-credential"])).toEqual([]);
    expect(sds.generate(inProd, push, TypeUrl.Secret, ["kubernetes://istio-system/httpbin-credential"])).toEqual([]);
    expect(sds.generate(gateway(OWN), push, TypeUrl.Secret, ["kubernetes://prod/prod-credential"])).toEqual([]);
    expect(logs.map((l) => l.msg)).toEqual([
      "cannot serve kubernetes://httpbin-credential: Secret prod/httpbin-credential not found",
      expect.stringMatching(/may not read kubernetes:\/\/istio-system\/httpbin-credential: Secret istio-system\/httpbin-credential is in another namespace than the proxy's authenticated namespace prod$/),
      expect.stringMatching(/may not read kubernetes:\/\/prod\/prod-credential: Secret prod\/prod-credential is in another namespace than the proxy's authenticated namespace istio-system$/),
    ]);
  });

  it("serves the own namespace by either name form, to sidecars too (istiod's SecretGen has no proxy-type check)", () => {
    expect(sds.generate(gateway(OWN), push, TypeUrl.Secret, ["kubernetes://istio-system/httpbin-credential"]).map((r) => r.name)).toEqual(["kubernetes://istio-system/httpbin-credential"]);
    const sidecar = verified(proxyOf({ ip: "10.0.0.3", pod: "sleep-1", namespace: "prod" }), { namespace: "prod", serviceAccount: "sleep" });
    expect(sds.generate(sidecar, push, TypeUrl.Secret, ["kubernetes://prod-credential"]).map((r) => r.name)).toEqual(["kubernetes://prod-credential"]);
  });

  it("leaves out only the names it cannot serve, and never logs key material", () => {
    logs.length = 0;
    const out = sds.generate(gateway(OWN), push, TypeUrl.Secret, ["default", "kubernetes://missing", "kubernetes://a/b/c", ...NAMES]);
    expect(out.map((r) => r.name)).toEqual(NAMES);
    expect(logs.map((l) => l.msg)).toEqual([
      'SDS resource "default" is not a Kubernetes credential: the workload certificate and root come from the agent\'s SDS (cluster sds-grpc), not from discovery',
      "cannot serve kubernetes://missing: Secret istio-system/missing not found",
      'SDS resource "kubernetes://a/b/c" is not kubernetes://<name> or kubernetes://<namespace>/<name>',
    ]);
    const body = pki.serverKeyPem.split("\n")[1]!;
    expect(JSON.stringify(logs)).not.toContain(body);
  });

  it("answers a wildcard (no names) with nothing: Envoy names every secret it wants", () => {
    expect(sds.generate(gateway(OWN), push, TypeUrl.Secret, undefined)).toEqual([]);
  });
});
