// Secrets as a source kind: what is accepted (Istio's Secure Gateways shapes),
// each bad input with its message, and that no message shows key material.
import { beforeAll, describe, expect, it } from "vitest";
import { snapshotOf } from "../test-util/mesh-fixtures.js";
import { makeTestPki, secretYaml, type TestPki } from "../test-util/tls-fixtures.js";

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

/** Every base64 run of the key and the key's PEM body lines: none may appear in an error. */
function keyMaterial(): string[] {
  const body = pki.serverKeyPem.split("\n").filter((l) => l && !l.startsWith("-----"));
  return [...body, Buffer.from(pki.serverKeyPem).toString("base64").slice(0, 40)];
}

function errorsOf(yaml: string) {
  const s = snapshotOf(yaml, "secrets.yaml");
  const text = JSON.stringify(s.errors);
  for (const m of keyMaterial()) expect(text).not.toContain(m);
  return s;
}

describe("Secret (v1) in the directory source", () => {
  it("accepts kubectl create secret tls, with ca.crt and ca.crl", () => {
    const s = errorsOf(secretYaml({ name: "httpbin-credential", type: "kubernetes.io/tls", data: { "tls.crt": pki.serverCertPem, "tls.key": pki.serverKeyPem, "ca.crt": pki.caPem, "ca.crl": pki.crlPem } }));
    expect(s.errors).toEqual([]);
    expect(s.objects.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual(["Secret istio-system/httpbin-credential"]);
  });

  it("accepts Istio's generic keys, in stringData too", () => {
    const s = errorsOf(secretYaml({ name: "generic", stringData: { cert: pki.serverCertPem, key: pki.serverKeyPem, cacert: pki.caPem, crl: pki.crlPem } }));
    expect(s.errors).toEqual([]);
  });

  it("accepts Secrets that hold no TLS credential (an API key under `key` alone)", () => {
    const s = errorsOf(secretYaml({ name: "api", data: { key: "not-a-pem-key", token: "t" } }));
    expect(s.errors).toEqual([]);
    expect(s.objects).toHaveLength(1);
  });

  it("reports bad base64 naming the Secret and the key, and skips only that Secret", () => {
    const s = errorsOf(secretYaml({ name: "broken", rawData: { "tls.crt": "!!!not base64", "tls.key": Buffer.from(pki.serverKeyPem).toString("base64") } }) + "---\n" + secretYaml({ name: "fine", stringData: { cacert: pki.caPem } }));
    expect(s.objects.map((o) => o.metadata.name)).toEqual(["fine"]);
    expect(s.errors).toEqual([
      {
        origin: "secrets.yaml (document 1)",
        object: "Secret istio-system/broken",
        field: "data[tls.crt]",
        reason: "Secret istio-system/broken: tls.crt is not valid base64 (data values are base64-encoded; put plain PEM under stringData instead)",
      },
    ]);
  });

  it("reports a certificate that is not PEM", () => {
    const s = errorsOf(secretYaml({ name: "c", type: "kubernetes.io/tls", data: { "tls.crt": "hello", "tls.key": pki.serverKeyPem } }));
    expect(s.errors).toMatchObject([{ object: "Secret istio-system/c", field: "data[tls.crt]", reason: 'Secret istio-system/c key tls.crt is not PEM: no "-----BEGIN CERTIFICATE-----" block' }]);
  });

  it("reports a certificate block that is not X.509", () => {
    const bogus = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    const s = errorsOf(secretYaml({ name: "c", data: { cert: pki.serverCertPem + bogus, key: pki.serverKeyPem } }));
    expect(s.errors).toMatchObject([{ field: "data[cert]", reason: expect.stringMatching(/^Secret istio-system\/c key certificate 2 of 2 in cert is not a valid X\.509 certificate: /) }]);
  });

  it("reports a private key that is not PEM", () => {
    const s = errorsOf(secretYaml({ name: "k", stringData: { "tls.crt": pki.serverCertPem, "tls.key": "just text" } }));
    expect(s.errors).toMatchObject([{ field: "stringData[tls.key]", reason: expect.stringMatching(/^Secret istio-system\/k key tls\.key is not PEM: no "-----BEGIN PRIVATE KEY-----"/) }]);
  });

  it("reports a private key block that does not parse", () => {
    const s = errorsOf(secretYaml({ name: "k", data: { "tls.crt": pki.serverCertPem, "tls.key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" } }));
    expect(s.errors).toMatchObject([{ field: "data[tls.key]", reason: expect.stringMatching(/^Secret istio-system\/k key tls\.key is not a valid private key: /) }]);
  });

  it("reports an encrypted private key with the fix", () => {
    const s = errorsOf(secretYaml({ name: "k", data: { "tls.crt": pki.serverCertPem, "tls.key": "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n" } }));
    expect(s.errors).toMatchObject([{ field: "data[tls.key]", reason: expect.stringMatching(/encrypted private key; Envoy needs it unencrypted/) }]);
  });

  it("reports a key that does not match the certificate (X509Certificate.checkPrivateKey)", () => {
    const s = errorsOf(secretYaml({ name: "httpbin-credential", type: "kubernetes.io/tls", data: { "tls.crt": pki.serverCertPem, "tls.key": pki.strayKeyPem } }));
    expect(s.objects).toEqual([]);
    expect(s.errors).toEqual([
      {
        origin: "secrets.yaml",
        object: "Secret istio-system/httpbin-credential",
        field: "data[tls.key]",
        reason: "Secret istio-system/httpbin-credential key tls.key does not match the certificate in tls.crt: its public key differs from the first certificate's; put the key the certificate was issued for",
      },
    ]);
  });

  it("checks the pair istiod would serve: generic cert/key win over tls.crt/tls.key", () => {
    // A broken tls.key is never served when cert/key are present and good: not an error.
    const s = errorsOf(secretYaml({ name: "both", data: { cert: pki.serverCertPem, key: pki.serverKeyPem, "tls.crt": pki.serverCertPem, "tls.key": pki.strayKeyPem } }));
    expect(s.errors).toEqual([]);
  });

  it("reports a CA bundle and a CRL that are not PEM", () => {
    const s = errorsOf(secretYaml({ name: "ca", data: { "ca.crt": "nope", "ca.crl": "nope" } }));
    expect(s.errors).toMatchObject([
      { field: "data[ca.crt]", reason: 'Secret istio-system/ca key ca.crt is not PEM: no "-----BEGIN CERTIFICATE-----" block' },
      { field: "data[ca.crl]", reason: 'Secret istio-system/ca key ca.crl is not PEM: no "-----BEGIN X509 CRL-----" block' },
    ]);
  });

  it("reports a kubernetes.io/tls Secret without tls.key, as the API server does", () => {
    const s = errorsOf(secretYaml({ name: "t", type: "kubernetes.io/tls", data: { "tls.crt": pki.serverCertPem } }));
    expect(s.errors).toMatchObject([{ field: "data[tls.key]", reason: "Secret istio-system/t of type kubernetes.io/tls must have key tls.key" }]);
  });

  it("reports data values that are not strings and keys Kubernetes refuses, without the values", () => {
    const s = errorsOf("apiVersion: v1\nkind: Secret\nmetadata: { name: w, namespace: ns }\ndata:\n  tls.key: 12345\n  'bad/key': YQ==\nstringData: [x]\n");
    expect(s.errors).toMatchObject([
      { field: "data[tls.key]", reason: "Secret ns/w: tls.key must be a base64 string, got a number" },
      { field: "data[bad/key]", reason: 'Secret ns/w: key "bad/key" is not a valid Secret key (letters, digits, \'-\', \'_\', \'.\')' },
      { field: "stringData", reason: "Secret ns/w: must be a map of key to string, got a list" },
    ]);
    expect(JSON.stringify(s.errors)).not.toContain("12345");
  });
});

describe("parseDocuments() on a Secret file that does not parse", () => {
  it("does not quote the text around a JSON syntax error", () => {
    const json = `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"j"},"data":{"tls.key": ${Buffer.from(pki.serverKeyPem).toString("base64")}}}`;
    let message = "";
    try {
      snapshotOf(json, "secret.json");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^invalid JSON: Unexpected token .*\(text not shown\)$/);
    expect(message).not.toContain(Buffer.from(pki.serverKeyPem).toString("base64").slice(0, 12));
  });
});
