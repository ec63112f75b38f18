// The self-signed mesh root, shaped like Istio's (security/pkg/pki/util GenCertKeyFromOptions
// with IsSelfSigned/IsCA): O=<trust domain>, CA:TRUE, keyCertSign, 10 years by default.
import * as x509 from "./x509.js";
import { crypto, type SigningAlgorithm } from "./pem.js";
import type { CryptoKey } from "./webcrypto-types.js";

export const DEFAULT_ROOT_TTL_MS = 10 * 365 * 24 * 3600 * 1000;

export interface RootParams {
  /** Istio sets the root's Organization to the trust domain ("cluster.local"). */
  org: string;
  notBefore: Date;
  ttlMs: number;
  keys: { publicKey: CryptoKey | x509.PublicKey; privateKey: CryptoKey };
  algorithm: SigningAlgorithm;
}

export function randomSerial(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[0]! &= 0x7f; // positive INTEGER (RFC 5280 §4.1.2.2)
  if (b[0] === 0) b[0] = 1;
  return Buffer.from(b).toString("hex");
}


/** Issues a self-signed root for `keys`; renewing reuses the same keys so existing leaves keep verifying. */
export async function createSelfSignedRoot(p: RootParams): Promise<x509.X509Certificate> {
  const name = [{ O: [p.org] }];
  return x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: name,
      issuer: name,
      notBefore: p.notBefore,
      notAfter: new Date(p.notBefore.getTime() + p.ttlMs),
      publicKey: p.keys.publicKey,
      signingKey: p.keys.privateKey,
      signingAlgorithm: p.algorithm.sign,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(p.keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
}
