// Leaf issuance from a PKCS#10 CSR, shaped like Istio's workload certificates
// (security/pkg/pki/util GenCertFromCSR): empty subject, one critical URI SAN, CA:FALSE,
// digitalSignature+keyEncipherment, serverAuth+clientAuth. Only the CSR's public key is
// used: its subject and requested SANs are ignored, the identity comes from the caller.
import * as x509 from "./x509.js";
import { CaError } from "./ca-error.js";
import type { SigningMaterial } from "./ca-material.js";
import { crypto } from "./pem.js";
import { randomSerial } from "./self-signed-root.js";
import type { CryptoKey } from "./webcrypto-types.js";

/** Largest CSR accepted; a P-256 or RSA-4096 CSR is well under 4 KiB. */
const MAX_CSR_BYTES = 64 * 1024;

/** Parses a PEM CSR and checks its self-signature (proof of possession of the key). */
export async function parseCsr(pem: string): Promise<x509.Pkcs10CertificateRequest> {
  if (typeof pem !== "string" || pem.trim() === "") throw new CaError("INVALID_CSR", "csr is empty: expected a PEM PKCS#10 certificate request");
  if (pem.length > MAX_CSR_BYTES) throw new CaError("INVALID_CSR", `csr is ${pem.length} bytes, more than the ${MAX_CSR_BYTES} allowed`);
  const m = /-----BEGIN (NEW )?CERTIFICATE REQUEST-----[\s\S]*?-----END (NEW )?CERTIFICATE REQUEST-----/.exec(pem);
  if (!m) throw new CaError("INVALID_CSR", "csr has no PEM 'CERTIFICATE REQUEST' block");
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(m[0].replace(/NEW CERTIFICATE REQUEST/g, "CERTIFICATE REQUEST"));
  } catch (error) {
    throw new CaError("INVALID_CSR", `csr is not a valid PKCS#10 request: ${(error as Error).message}`, { cause: error });
  }
  let ok: boolean;
  try {
    ok = await csr.verify(crypto);
  } catch (error) {
    throw new CaError("INVALID_CSR", `csr signature cannot be checked (unsupported key or algorithm?): ${(error as Error).message}`, { cause: error });
  }
  if (!ok) throw new CaError("INVALID_CSR", "csr signature does not verify against its own public key");
  return csr;
}

export interface LeafParams {
  csr: x509.Pkcs10CertificateRequest;
  /** The only SAN the certificate gets, a URI (SPIFFE ID) or for serving certificates DNS names and IPs. */
  san: { uri: string } | { dns: string[]; ips: string[] };
  notBefore: Date;
  notAfter: Date;
}

/** Signs a leaf for the CSR's public key; returns the PEM certificate. */
export async function signLeaf(m: SigningMaterial, p: LeafParams): Promise<string> {
  const names: x509.JsonGeneralName[] =
    "uri" in p.san ? [{ type: "url", value: p.san.uri }] : [...p.san.dns.map((value) => ({ type: "dns" as const, value })), ...p.san.ips.map((value) => ({ type: "ip" as const, value }))];
  if (names.length === 0) throw new CaError("INVALID_IDENTITY", "a leaf certificate needs at least one subject alternative name");
  let publicKey: CryptoKey;
  try {
    publicKey = await p.csr.publicKey.export(crypto);
  } catch (error) {
    throw new CaError("INVALID_CSR", `csr public key is not usable (expected EC P-256/P-384 or RSA): ${(error as Error).message}`, { cause: error });
  }
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      // Istio leaves have an empty subject; RFC 5280 §4.2.1.6 then requires the SAN to be critical.
      subject: [],
      issuer: m.caCert.subjectName.toJSON(),
      notBefore: p.notBefore,
      notAfter: p.notAfter,
      publicKey,
      signingKey: m.key,
      signingAlgorithm: m.algorithm.sign,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.BasicConstraintsExtension(false, undefined, true),
        await authorityKeyId(m.caCert),
        new x509.SubjectAlternativeNameExtension(names, true),
      ],
    },
    crypto,
  );
  return cert.toString("pem") + "\n";
}

/** AKID = the issuer's SKID when it has one (a plugged-in CA may not use the SHA-1 key hash). */
async function authorityKeyId(issuer: x509.X509Certificate): Promise<x509.AuthorityKeyIdentifierExtension> {
  const skid = issuer.getExtension(x509.SubjectKeyIdentifierExtension);
  return skid ? new x509.AuthorityKeyIdentifierExtension(skid.keyId) : x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey, false, crypto);
}
