// Checks what istiod would serve from a Secret (cert-info.ts decides which
// keys) as Envoy would load it. A Secret that carries no TLS keys at all is
// fine (it is just not a credential); the keys that would be served must be
// good, so a broken Secret is reported when it is applied, not as a NACK later.
import { extractCertInfo, extractRoot, GENERIC_KEYS, TLS_KEYS } from "./cert-info.js";
import { checkCertificates, checkCrl, checkPrivateKey } from "./check-pem.js";
import { CredentialError } from "./credential-error.js";
import type { DecodedSecretData, SecretDataProblem } from "./secret-data.js";

const TLS_SECRET_TYPE = "kubernetes.io/tls";

export function checkCredential(secret: string, decoded: DecodedSecretData): SecretDataProblem[] {
  const { data, fieldOf } = decoded;
  const problems: SecretDataProblem[] = [];
  const field = (key: string) => fieldOf.get(key) ?? `data[${key}]`;
  const attempt = (key: string, check: () => void) => {
    try {
      check();
    } catch (error) {
      if (!(error instanceof CredentialError)) throw error;
      problems.push({ field: field(key), reason: error.message });
    }
  };

  // The API server requires both keys on a kubernetes.io/tls Secret.
  if (decoded.type === TLS_SECRET_TYPE) {
    for (const key of [TLS_KEYS.cert, TLS_KEYS.key]) {
      if (!data.has(key)) problems.push({ field: `data[${key}]`, reason: `Secret ${secret} of type ${TLS_SECRET_TYPE} must have key ${key}` });
    }
  }

  let server;
  try {
    server = extractCertInfo(secret, data);
  } catch {
    server = undefined; // not a server credential; reported when a proxy asks for it
  }
  if (server) {
    let leaf;
    attempt(server.certKey, () => {
      leaf = checkCertificates(secret, server.certKey, server.cert)[0];
    });
    if (leaf) attempt(server.keyKey!, () => checkPrivateKey(secret, server.keyKey!, server.key!, leaf!, server.certKey));
  }

  let root;
  try {
    root = extractRoot(secret, data);
  } catch {
    root = undefined;
  }
  if (root) attempt(root.certKey, () => checkCertificates(secret, root.certKey, root.cert));

  for (const key of [GENERIC_KEYS.crl, TLS_KEYS.crl]) {
    const crl = data.get(key);
    if (crl && crl.length > 0) attempt(key, () => checkCrl(secret, key, crl));
  }
  return problems;
}
