// An intermediate CA signed by a given root, for plugged-in cacerts tests.
import { createPrivateKey, webcrypto } from "node:crypto";
import * as x509 from "./x509.js";
import type { Crypto, CryptoKeyPair, EcdsaParams } from "./webcrypto-types.js";

const crypto = webcrypto as unknown as Crypto;

export async function makeIntermediate(rootPem: string, rootKeyPem: string): Promise<{ certPem: string; keyPem: string }> {
  const root = new x509.X509Certificate(rootPem);
  const der = createPrivateKey(rootKeyPem).export({ format: "der", type: "pkcs8" });
  const rootKey = await crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: "O=example.org, CN=Intermediate CA",
      issuer: root.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 365 * 24 * 3600_000),
      publicKey: keys.publicKey,
      signingKey: rootKey,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(root.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  // SEC1 "EC PRIVATE KEY", as openssl writes it: checks we read that encoding too.
  const keyPem = createPrivateKey({ key: Buffer.from(await crypto.subtle.exportKey("pkcs8", keys.privateKey)), format: "der", type: "pkcs8" }).export({ format: "pem", type: "sec1" }).toString();
  return { certPem: cert.toString("pem") + "\n", keyPem };
}
