// Test helpers for the CA: CSRs like the Istio agent makes, and openssl-free inspection.
import { webcrypto } from "node:crypto";
import * as x509 from "./x509.js";
import pino from "pino";
import type { Crypto, CryptoKeyPair, EcdsaParams } from "./webcrypto-types.js";

const crypto = webcrypto as unknown as Crypto;
export const silentLogger = pino({ level: "silent" });

/** An ECDSA P-256 key and a CSR for it, optionally asking for `uri` (which the CA must ignore). */
export async function makeCsr(uri?: string, subject = ""): Promise<{ csrPem: string; keys: CryptoKeyPair }> {
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      ...(subject ? { name: subject } : {}),
      keys,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams,
      extensions: uri ? [new x509.SubjectAlternativeNameExtension([{ type: "url", value: uri }])] : [],
    },
    crypto,
  );
  return { csrPem: csr.toString("pem"), keys };
}

export function sans(certPem: string): { type: string; value: string }[] {
  const cert = new x509.X509Certificate(certPem);
  return cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON() ?? [];
}

export async function verifies(childPem: string, parentPem: string, at = new Date()): Promise<boolean> {
  const child = new x509.X509Certificate(childPem);
  const parent = new x509.X509Certificate(parentPem);
  return child.verify({ publicKey: parent.publicKey, date: at }, crypto);
}
