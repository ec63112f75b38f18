// The workload key and CSR, as Istio's agent makes them (security/pkg/pki/util GenCSR with
// ECC_SIGNATURE_ALGORITHM=ECDSA): P-256, no subject, the SPIFFE ID as the only URI SAN. The
// CA ignores the SAN and uses the authenticated caller, but sending it keeps the CSR
// self-describing and compatible with CAs that check it.
import { webcrypto } from "node:crypto";
import * as x509 from "./x509.js";
import type { Crypto, CryptoKeyPair, EcdsaParams } from "./webcrypto-types.js";

const crypto = webcrypto as unknown as Crypto;

export interface WorkloadKeyAndCsr {
  /** PKCS#8 PEM private key, what SDS hands to the proxy. */
  keyPem: string;
  csrPem: string;
}

export async function createWorkloadCsr(spiffeId: string): Promise<WorkloadKeyAndCsr> {
  if (!/^spiffe:\/\/[^/]+\/ns\/[^/]+\/sa\/[^/]+$/.test(spiffeId)) throw new Error(`${JSON.stringify(spiffeId)} is not a workload SPIFFE ID (spiffe://<trust-domain>/ns/<ns>/sa/<sa>)`);
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      keys,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: "url", value: spiffeId }], true)],
    },
    crypto,
  );
  const keyPem = x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY");
  return { keyPem: keyPem.endsWith("\n") ? keyPem : `${keyPem}\n`, csrPem: csr.toString("pem") };
}
