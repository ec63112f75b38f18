// The hand-encoded CSR read back by two independent implementations: @peculiar/x509 (what the
// tests' fake CAs use) and, when installed, openssl. The real CA accepting it is ca-client.test.ts.
import { execFileSync, spawnSync } from "node:child_process";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import * as x509 from "../test-util/x509.js";
import { createWorkloadCsr } from "./workload-csr.js";

const SPIFFE = "spiffe://cluster.local/ns/default/sa/bookinfo-productpage";
const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;

describe("createWorkloadCsr()", () => {
  it("makes a P-256 key and a CSR signed by it, with an empty subject and the SPIFFE ID as its one critical URI SAN", async () => {
    const { keyPem, csrPem } = await createWorkloadCsr(SPIFFE);
    expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    const key = createPrivateKey(keyPem);
    expect(key.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");

    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    expect(await csr.verify()).toBe(true);
    expect(csr.subject).toBe("");
    expect(csr.signatureAlgorithm).toMatchObject({ name: "ECDSA", hash: { name: "SHA-256" } });
    const san = csr.getExtension("2.5.29.17") as x509.SubjectAlternativeNameExtension | null;
    expect(san?.critical).toBe(true);
    expect(san?.names.toJSON()).toEqual([{ type: "url", value: SPIFFE }]);
    expect(csr.extensions).toHaveLength(1);
    // The CSR carries the public half of the key handed to SDS.
    const csrKey = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: "der", type: "spki" });
    expect(csrKey.export({ format: "jwk" })).toEqual(createPublicKey(key).export({ format: "jwk" }));
  });

  it("makes a new key every time", async () => {
    const a = await createWorkloadCsr(SPIFFE);
    const b = await createWorkloadCsr(SPIFFE);
    expect(a.keyPem).not.toBe(b.keyPem);
  });

  it.skipIf(!hasOpenssl)(`verifies with openssl req${hasOpenssl ? "" : " (skipped: no openssl on PATH)"}`, async () => {
    const { csrPem } = await createWorkloadCsr(SPIFFE);
    const text = execFileSync("openssl", ["req", "-verify", "-noout", "-text"], { input: csrPem, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
    expect(text).toContain("ecdsa-with-SHA256");
    expect(text).toMatch(/X509v3 Subject Alternative Name: critical\s+URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-productpage/);
    expect(text).toContain("NIST CURVE: P-256");
  });

  it("refuses what is not a workload SPIFFE ID", async () => {
    await expect(createWorkloadCsr("spiffe://cluster.local/ns/default")).rejects.toThrow(/is not a workload SPIFFE ID/);
    await expect(createWorkloadCsr("https://example.com/ns/a/sa/b")).rejects.toThrow(/is not a workload SPIFFE ID/);
    await expect(createWorkloadCsr("spiffe://cluster.local/ns/défaut/sa/b")).rejects.toThrow(/is not a workload SPIFFE ID/);
    await expect(createWorkloadCsr("spiffe://cluster.local/ns/a b/sa/c")).rejects.toThrow(/is not a workload SPIFFE ID/);
  });
});
