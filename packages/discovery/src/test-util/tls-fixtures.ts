// Test PKI for gateway credentials: a CA, a server certificate for some hosts
// signed by it, a key that belongs to nothing, and a CRL; plus Secret YAML in
// the shapes Istio's Secure Gateways task creates (kubectl create secret tls /
// generic). Made fresh per test run with @peculiar/x509, so no key is ever
// committed.
import { createPrivateKey, webcrypto } from "node:crypto";
import * as x509 from "../ca/x509.js";
import type { Crypto, CryptoKeyPair, EcdsaParams } from "../ca/webcrypto-types.js";

const crypto = webcrypto as unknown as Crypto;
const ECDSA = { name: "ECDSA", namedCurve: "P-256" };
const SIGN = { name: "ECDSA", hash: "SHA-256" } as EcdsaParams;

export interface TestPki {
  caPem: string;
  /** PEM (PKCS#8) of the server certificate's key. */
  serverKeyPem: string;
  serverCertPem: string;
  /** A key that matches no certificate here. */
  strayKeyPem: string;
  crlPem: string;
}

const pkcs8Pem = async (keys: CryptoKeyPair) =>
  createPrivateKey({ key: Buffer.from(await crypto.subtle.exportKey("pkcs8", keys.privateKey)), format: "der", type: "pkcs8" }).export({ format: "pem", type: "pkcs8" }).toString();

const newKeys = async () => (await crypto.subtle.generateKey(ECDSA, true, ["sign", "verify"])) as CryptoKeyPair;

export async function makeTestPki(hosts: string[] = ["httpbin.example.com"], name = "example.com"): Promise<TestPki> {
  const caKeys = await newKeys();
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: `O=${name} Inc., CN=${name}`,
      keys: caKeys,
      signingAlgorithm: SIGN,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 24 * 3600_000),
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
    },
    crypto,
  );
  const serverKeys = await newKeys();
  const server = await x509.X509CertificateGenerator.create(
    {
      subject: `O=httpbin organization, CN=${hosts[0]}`,
      issuer: ca.subject,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 24 * 3600_000),
      publicKey: serverKeys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: SIGN,
      serialNumber: "0a1b2c",
      extensions: [
        new x509.SubjectAlternativeNameExtension(hosts.map((h) => (/^[\d.]+$/.test(h) ? { type: "ip" as const, value: h } : { type: "dns" as const, value: h }))),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      ],
    },
    crypto,
  );
  const crl = await x509.X509CrlGenerator.create({ issuer: ca.subject, signingKey: caKeys.privateKey, signingAlgorithm: SIGN, nextUpdate: new Date(now + 24 * 3600_000), entries: [] }, crypto);
  return {
    caPem: ca.toString("pem") + "\n",
    serverCertPem: server.toString("pem") + "\n",
    serverKeyPem: await pkcs8Pem(serverKeys),
    strayKeyPem: await pkcs8Pem(await newKeys()),
    // OpenSSL (and so Envoy) reads the "X509 CRL" label; @peculiar/x509 writes "CRL".
    crlPem: crl.toString("pem").replace(/-----(BEGIN|END) CRL-----/g, "-----$1 X509 CRL-----") + "\n",
  };
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

/** A Secret document; `data` values are given in plain text and base64-encoded here (as kubectl does). */
export function secretYaml(o: { name: string; namespace?: string; type?: string; data?: Record<string, string>; rawData?: Record<string, string>; stringData?: Record<string, string> }): string {
  const lines = ["apiVersion: v1", "kind: Secret", `metadata: { name: ${o.name}, namespace: ${o.namespace ?? "istio-system"} }`];
  if (o.type) lines.push(`type: ${o.type}`);
  const data = { ...Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, b64(v)])), ...(o.rawData ?? {}) };
  if (Object.keys(data).length) lines.push("data:", ...Object.entries(data).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`));
  if (o.stringData) lines.push("stringData:", ...Object.entries(o.stringData).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`));
  return lines.join("\n") + "\n";
}
