// PEM helpers for the mesh CA: bundles split into certificates, private keys in any of
// the encodings Istio's `cacerts` accepts (PKCS#8, PKCS#1 "RSA PRIVATE KEY", SEC1 "EC
// PRIVATE KEY") turned into WebCrypto keys, and the signature algorithm matching a key.
import { createPrivateKey, createPublicKey, webcrypto } from "node:crypto";
import * as x509 from "./x509.js";
import { CaError } from "./ca-error.js";
import type { Crypto, CryptoKey, CryptoKeyPair, Algorithm, EcdsaParams, EcKeyImportParams, RsaHashedImportParams } from "./webcrypto-types.js";

export const crypto = webcrypto as unknown as Crypto;

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Every CERTIFICATE block of a PEM bundle, each normalised to end with a newline. */
export function splitPemCertificates(bundle: string): string[] {
  return (bundle.match(CERT_BLOCK) ?? []).map((b) => `${b.trim()}\n`);
}

/** Parses one certificate, naming `what` (a file or field) when it is not one. */
export function parseCertificate(pem: string, what: string): x509.X509Certificate {
  const blocks = splitPemCertificates(pem);
  if (blocks.length === 0) throw new CaError("BAD_CA_MATERIAL", `${what}: no PEM CERTIFICATE block found`);
  try {
    return new x509.X509Certificate(blocks[0]!);
  } catch (error) {
    throw new CaError("BAD_CA_MATERIAL", `${what}: not a valid X.509 certificate: ${(error as Error).message}`, { cause: error });
  }
}

export type CaKeyAlgorithm = "rsa-2048" | "ecdsa-p256";

/** The WebCrypto algorithm used both to import a CA key and to sign with it. */
export interface SigningAlgorithm {
  importParams: RsaHashedImportParams | EcKeyImportParams;
  sign: Algorithm | EcdsaParams;
}

function signingAlgorithmFor(keyType: string | undefined, curve: string | undefined, what: string): SigningAlgorithm {
  if (keyType === "rsa") {
    const alg = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    return { importParams: alg, sign: alg };
  }
  if (keyType === "ec") {
    if (curve === "prime256v1") return { importParams: { name: "ECDSA", namedCurve: "P-256" }, sign: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams };
    if (curve === "secp384r1") return { importParams: { name: "ECDSA", namedCurve: "P-384" }, sign: { name: "ECDSA", hash: "SHA-384" } as EcdsaParams };
    throw new CaError("BAD_CA_MATERIAL", `${what}: unsupported EC curve ${curve ?? "?"} (expected P-256 or P-384)`);
  }
  throw new CaError("BAD_CA_MATERIAL", `${what}: unsupported key type ${keyType ?? "?"} (expected RSA or EC)`);
}

export interface ImportedKey {
  key: CryptoKey;
  algorithm: SigningAlgorithm;
  /** The key re-encoded as PKCS#8 PEM (what we write back to disk). */
  pkcs8Pem: string;
}

/** Imports a PEM private key in PKCS#8, PKCS#1 or SEC1 form as a non-extractable signing key. */
export async function importPrivateKeyPem(pem: string, what: string): Promise<ImportedKey> {
  let keyObject;
  try {
    keyObject = createPrivateKey({ key: pem, format: "pem" });
  } catch (error) {
    throw new CaError("BAD_CA_MATERIAL", `${what}: not a readable PEM private key: ${(error as Error).message}`, { cause: error });
  }
  const algorithm = signingAlgorithmFor(keyObject.asymmetricKeyType, keyObject.asymmetricKeyDetails?.namedCurve, what);
  const der = keyObject.export({ format: "der", type: "pkcs8" });
  const key = await crypto.subtle.importKey("pkcs8", der, algorithm.importParams, false, ["sign"]);
  return { key, algorithm, pkcs8Pem: keyObject.export({ format: "pem", type: "pkcs8" }).toString() };
}

/** A fresh CA key pair; RSA 2048 by default like Istio's self-signed root. */
export async function generateCaKey(kind: CaKeyAlgorithm): Promise<{ keys: CryptoKeyPair; pkcs8Pem: string; algorithm: SigningAlgorithm }> {
  const algorithm =
    kind === "rsa-2048"
      ? signingAlgorithmFor("rsa", undefined, kind)
      : signingAlgorithmFor("ec", "prime256v1", kind);
  const genParams =
    kind === "rsa-2048"
      ? { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }
      : { name: "ECDSA", namedCurve: "P-256" };
  const keys = (await crypto.subtle.generateKey(genParams, true, ["sign", "verify"])) as CryptoKeyPair;
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { keys, pkcs8Pem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY"), algorithm };
}

/** True when the certificate's public key is the public half of `privateKeyPem`. */
export function keyMatchesCertificate(cert: x509.X509Certificate, privateKeyPem: string): boolean {
  // createPublicKey derives the public half (SPKI DER) from a private key.
  const spki = createPublicKey(privateKeyPem).export({ format: "der", type: "spki" });
  return Buffer.compare(spki, Buffer.from(cert.publicKey.rawData)) === 0;
}
