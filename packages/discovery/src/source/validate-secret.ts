// v1 Secret: the API server's own checks (keys, base64 `data`, string
// `stringData`, the keys a kubernetes.io/tls Secret must have) and, for the
// keys istiod would serve as a gateway credential, what Envoy would refuse
// (credentials/check-credential.ts). Messages name the Secret and the key and
// never quote a value: Secrets hold private keys.
import { checkCredential } from "../credentials/check-credential.js";
import { decodeSecretData } from "../credentials/secret-data.js";
import type { FieldChecker, Json } from "./field-checker.js";

export function validateSecret(doc: Json, secret: string, c: FieldChecker): void {
  const decoded = decodeSecretData(doc);
  for (const p of decoded.problems) c.fail(p.field, `Secret ${secret}: ${p.reason}`);
  for (const p of checkCredential(secret, decoded)) c.fail(p.field, p.reason);
}
