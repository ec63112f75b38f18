// What Envoy would refuse in a credential, found before it is sent: a chain
// that is not PEM X.509, a private key that does not parse or does not belong
// to the leaf certificate, a CRL that is not PEM. Messages name the data key
// and quote only OpenSSL's reason, never the bytes.
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { splitPemCertificates } from "../ca/pem.js";
import { X509Crl } from "../ca/x509.js";
import { CredentialError } from "./credential-error.js";

const CRL_BLOCK = /-----BEGIN X509 CRL-----[\s\S]*?-----END X509 CRL-----/g;
const KEY_BEGIN = /-----BEGIN ((?:ENCRYPTED |RSA |EC )?PRIVATE KEY)-----/;

const reasonOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Every certificate of a PEM bundle, parsed; throws naming `key` when there is none or one does not parse. */
export function checkCertificates(secret: string, key: string, pem: Buffer): X509Certificate[] {
  const blocks = splitPemCertificates(pem.toString("utf8"));
  if (blocks.length === 0) throw new CredentialError("INVALID", `Secret ${secret} key ${key} is not PEM: no "-----BEGIN CERTIFICATE-----" block`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      const which = blocks.length > 1 ? `certificate ${i + 1} of ${blocks.length} in ${key}` : key;
      throw new CredentialError("INVALID", `Secret ${secret} key ${which} is not a valid X.509 certificate: ${reasonOf(error)}`);
    }
  });
}

/** The private key, checked against the leaf certificate with X509Certificate.checkPrivateKey. */
export function checkPrivateKey(secret: string, key: string, pem: Buffer, leaf: X509Certificate, certKey: string): KeyObject {
  const begin = KEY_BEGIN.exec(pem.toString("utf8"));
  if (!begin) throw new CredentialError("INVALID", `Secret ${secret} key ${key} is not PEM: no "-----BEGIN PRIVATE KEY-----" (or RSA / EC PRIVATE KEY) block`);
  if (begin[1] === "ENCRYPTED PRIVATE KEY") {
    throw new CredentialError("INVALID", `Secret ${secret} key ${key} is an encrypted private key; Envoy needs it unencrypted (openssl pkcs8 -in key.pem -out plain.pem)`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: "pem" });
  } catch (error) {
    throw new CredentialError("INVALID", `Secret ${secret} key ${key} is not a valid private key: ${reasonOf(error)}`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new CredentialError("INVALID", `Secret ${secret} key ${key} does not match the certificate in ${certKey}: its public key differs from the first certificate's; put the key the certificate was issued for`);
  }
  return privateKey;
}

/** Every CRL of a PEM bundle parses. */
export function checkCrl(secret: string, key: string, pem: Buffer): void {
  const blocks = pem.toString("utf8").match(CRL_BLOCK) ?? [];
  if (blocks.length === 0) throw new CredentialError("INVALID", `Secret ${secret} key ${key} is not PEM: no "-----BEGIN X509 CRL-----" block`);
  blocks.forEach((block, i) => {
    try {
      new X509Crl(block);
    } catch (error) {
      throw new CredentialError("INVALID", `Secret ${secret} key ${blocks.length > 1 ? `CRL ${i + 1} of ${blocks.length} in ${key}` : key} is not a valid X.509 CRL: ${reasonOf(error)}`);
    }
  });
}
