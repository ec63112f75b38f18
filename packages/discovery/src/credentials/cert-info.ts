// Which keys of a Secret make a credential, by istiod's rules
// (pilot/pkg/credentials/kube/secrets.go, ExtractCertInfo / ExtractRoot):
// the generic keys (`cert`, `key`, `cacert`, `crl`) win over the
// kubernetes.io/tls ones (`tls.crt`, `tls.key`, `ca.crt`, `ca.crl`,
// `tls.ocsp-staple`) when both are non-empty; the Secret's `type` plays no part.
import { CredentialError } from "./credential-error.js";

export const GENERIC_KEYS = { cert: "cert", key: "key", cacert: "cacert", crl: "crl" } as const;
export const TLS_KEYS = { cert: "tls.crt", key: "tls.key", cacert: "ca.crt", crl: "ca.crl", ocspStaple: "tls.ocsp-staple" } as const;

/** A server credential or a CA bundle, with the data keys it came from (for messages). */
export interface CertInfo {
  /** PEM certificate chain (tls_certificate) or trusted CA bundle (validation_context). */
  cert: Buffer;
  certKey: string;
  /** PEM private key; only for a server credential. */
  key?: Buffer;
  keyKey?: string;
  /** PEM CRL (validation_context.crl). */
  crl?: Buffer;
  crlKey?: string;
  /** DER OCSP response (tls_certificate.ocsp_staple); kubernetes.io/tls keys only, as istiod. */
  ocspStaple?: Buffer;
}

type Data = ReadonlyMap<string, Buffer>;

const hasValue = (d: Data, ...keys: string[]) => keys.every((k) => (d.get(k)?.length ?? 0) > 0);
const hasKeys = (d: Data, ...keys: string[]) => keys.every((k) => d.has(k));
const nonEmpty = (b: Buffer | undefined) => (b && b.length > 0 ? b : undefined);

/** The first three key names and how many more: enough to spot a typo, never values. */
export function keysMessage(d: Data): string {
  const keys = [...d.keys()].sort();
  return keys.length < 3 ? keys.join(", ") || "(no keys)" : `${keys.slice(0, 3).join(", ")}, and ${keys.length - 3} more`;
}

/** The certificate chain and private key (`kubernetes://<name>`). */
export function extractCertInfo(secret: string, d: Data): CertInfo {
  if (hasValue(d, GENERIC_KEYS.cert, GENERIC_KEYS.key)) {
    const crl = nonEmpty(d.get(GENERIC_KEYS.crl));
    return { cert: d.get(GENERIC_KEYS.cert)!, certKey: GENERIC_KEYS.cert, key: d.get(GENERIC_KEYS.key)!, keyKey: GENERIC_KEYS.key, ...(crl ? { crl, crlKey: GENERIC_KEYS.crl } : {}) };
  }
  if (hasValue(d, TLS_KEYS.cert, TLS_KEYS.key)) {
    const crl = nonEmpty(d.get(TLS_KEYS.crl));
    const ocspStaple = nonEmpty(d.get(TLS_KEYS.ocspStaple));
    return {
      cert: d.get(TLS_KEYS.cert)!,
      certKey: TLS_KEYS.cert,
      key: d.get(TLS_KEYS.key)!,
      keyKey: TLS_KEYS.key,
      ...(crl ? { crl, crlKey: TLS_KEYS.crl } : {}),
      ...(ocspStaple ? { ocspStaple } : {}),
    };
  }
  for (const k of [GENERIC_KEYS, TLS_KEYS]) {
    if (hasKeys(d, k.cert, k.key)) throw new CredentialError("MISSING_KEYS", `Secret ${secret}: found keys "${k.cert}" and "${k.key}", but they were empty`);
  }
  throw new CredentialError(
    "MISSING_KEYS",
    `Secret ${secret} has no server certificate: expected keys (cert and key) or (tls.crt and tls.key); found: ${keysMessage(d)}`,
  );
}

/** The CA bundle and CRL (`kubernetes://<name>-cacert`). */
export function extractRoot(secret: string, d: Data): CertInfo {
  for (const k of [GENERIC_KEYS, TLS_KEYS]) {
    if (hasValue(d, k.cacert)) {
      const crl = nonEmpty(d.get(k.crl));
      return { cert: d.get(k.cacert)!, certKey: k.cacert, ...(crl ? { crl, crlKey: k.crl } : {}) };
    }
  }
  for (const k of [GENERIC_KEYS, TLS_KEYS]) {
    if (hasKeys(d, k.cacert)) throw new CredentialError("MISSING_KEYS", `Secret ${secret}: found key "${k.cacert}", but it was empty`);
  }
  throw new CredentialError("MISSING_KEYS", `Secret ${secret} has no CA certificate: expected key cacert or ca.crt; found: ${keysMessage(d)}`);
}
