// istiod's lookup rules (pilot/pkg/credentials/kube/secrets.go): which keys
// make the server credential and the CA, and how `<name>-cacert` resolves.
import { beforeAll, describe, expect, it } from "vitest";
import { snapshotOf } from "../test-util/mesh-fixtures.js";
import { makeTestPki, secretYaml, type TestPki } from "../test-util/tls-fixtures.js";
import { CredentialError } from "./credential-error.js";
import { buildCredentialStore } from "./credential-store.js";

let pki: TestPki;
let other: TestPki;
beforeAll(async () => {
  [pki, other] = await Promise.all([makeTestPki(), makeTestPki(["other.example.com"], "other.example")]);
});

function store(...docs: string[]) {
  const s = snapshotOf(docs.join("---\n"));
  expect(s.errors).toEqual([]);
  return buildCredentialStore(s.objects);
}

const text = (b: Buffer | undefined) => b?.toString("utf8");

function thrown(fn: () => unknown): CredentialError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CredentialError) return error;
    throw error;
  }
  throw new Error("expected a CredentialError");
}

describe("buildCredentialStore().certInfo()", () => {
  it("reads tls.crt / tls.key (and the OCSP staple) of a kubernetes.io/tls Secret", () => {
    const s = store(secretYaml({ name: "gw", type: "kubernetes.io/tls", data: { "tls.crt": pki.serverCertPem, "tls.key": pki.serverKeyPem, "tls.ocsp-staple": "staple" } }));
    const info = s.certInfo("istio-system", "gw");
    expect([text(info.cert), text(info.key), text(info.ocspStaple), info.certKey, info.keyKey]).toEqual([pki.serverCertPem, pki.serverKeyPem, "staple", "tls.crt", "tls.key"]);
  });

  it("prefers the generic cert / key when both sets are there", () => {
    const s = store(secretYaml({ name: "gw", data: { cert: other.serverCertPem, key: other.serverKeyPem, "tls.crt": pki.serverCertPem, "tls.key": pki.serverKeyPem } }));
    expect(text(s.certInfo("istio-system", "gw").cert)).toBe(other.serverCertPem);
  });

  it("says what is missing, listing key names only", () => {
    const s = store(secretYaml({ name: "gw", data: { "ca.crt": pki.caPem } }), secretYaml({ name: "empty", stringData: { "tls.crt": "", "tls.key": "" } }));
    expect(thrown(() => s.certInfo("istio-system", "gw"))).toMatchObject({
      code: "MISSING_KEYS",
      message: "Secret istio-system/gw has no server certificate: expected keys (cert and key) or (tls.crt and tls.key); found: ca.crt",
    });
    expect(thrown(() => s.certInfo("istio-system", "empty")).message).toBe('Secret istio-system/empty: found keys "tls.crt" and "tls.key", but they were empty');
    expect(thrown(() => s.certInfo("istio-system", "nope"))).toMatchObject({ code: "NOT_FOUND", message: "Secret istio-system/nope not found" });
    expect(thrown(() => s.certInfo("default", "gw")).code).toBe("NOT_FOUND");
  });
});

describe("buildCredentialStore().caCert() (`<name>-cacert`)", () => {
  it("reads a Secret literally named <name>-cacert first", () => {
    const s = store(
      secretYaml({ name: "gw", data: { "tls.crt": pki.serverCertPem, "tls.key": pki.serverKeyPem, "ca.crt": pki.caPem } }),
      secretYaml({ name: "gw-cacert", data: { cacert: other.caPem } }),
    );
    expect(text(s.caCert("istio-system", "gw-cacert").cert)).toBe(other.caPem);
  });

  it("falls back to the ca.crt and ca.crl of <name> when there is no <name>-cacert", () => {
    const s = store(secretYaml({ name: "gw", type: "kubernetes.io/tls", data: { "tls.crt": pki.serverCertPem, "tls.key": pki.serverKeyPem, "ca.crt": pki.caPem, "ca.crl": pki.crlPem } }));
    const ca = s.caCert("istio-system", "gw-cacert");
    expect([text(ca.cert), text(ca.crl), ca.certKey, ca.crlKey]).toEqual([pki.caPem, pki.crlPem, "ca.crt", "ca.crl"]);
  });

  it("prefers cacert (with crl) over ca.crt", () => {
    const s = store(secretYaml({ name: "gw", data: { cacert: other.caPem, crl: other.crlPem, "ca.crt": pki.caPem } }));
    const ca = s.caCert("istio-system", "gw-cacert");
    expect([text(ca.cert), text(ca.crl)]).toEqual([other.caPem, other.crlPem]);
  });

  it("does not fall back when <name>-cacert exists but has no CA key (as istiod)", () => {
    const s = store(secretYaml({ name: "gw", data: { "ca.crt": pki.caPem } }), secretYaml({ name: "gw-cacert", data: { note: "x" } }));
    expect(thrown(() => s.caCert("istio-system", "gw-cacert"))).toMatchObject({ code: "MISSING_KEYS", message: "Secret istio-system/gw-cacert has no CA certificate: expected key cacert or ca.crt; found: note" });
  });

  it("names both Secrets it looked for when neither exists", () => {
    const s = store(secretYaml({ name: "unrelated", data: { note: "x" } }));
    expect(thrown(() => s.caCert("istio-system", "gw-cacert")).message).toBe("Secret istio-system/gw-cacert not found, nor istio-system/gw with a cacert or ca.crt key");
  });
});
