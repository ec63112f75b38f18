// `weftctl local create secret tls|generic`: the Secret `kubectl create secret` would make,
// for the local mesh — Istio's Secure Gateways task creates a Gateway's credentialName this
// way. Checked before anything is written (kubectl refuses a certificate and key that don't
// belong together too), so a typo fails here, not later as an ingress that never serves.
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { LocalError } from "./errors.js";
import type { Manifest } from "./manifests.js";

/** Kubernetes' rule for Secret data keys. */
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
/** A DNS-1123 subdomain, what Kubernetes requires of a Secret's name. */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function readInput(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new LocalError(`cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, "check the path");
  }
}

function checkName(name: string | undefined, namespace: string): string {
  if (!name) throw new LocalError("a secret needs a name", "usage: weftctl local create secret tls|generic NAME …");
  for (const [what, value] of [["name", name], ["namespace", namespace]] as const) {
    if (value.length > 253 || !OBJECT_NAME.test(value)) throw new LocalError(`secret ${what} ${JSON.stringify(value)} is not a valid Kubernetes name`, "use lower-case letters, digits, '-' and '.'");
  }
  return name;
}

function secretManifest(name: string, namespace: string, type: string, data: Map<string, Buffer>): Manifest {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace },
    type,
    data: Object.fromEntries([...data].map(([key, value]) => [key, value.toString("base64")])),
  };
}

/** `kubernetes.io/tls` with tls.crt and tls.key, after checking the key is the certificate's. */
export function tlsSecret(options: { name?: string; namespace: string; cert?: string; key?: string }): Manifest {
  const name = checkName(options.name, options.namespace);
  if (!options.cert || !options.key) throw new LocalError("a tls secret needs --cert and --key", "usage: weftctl local create secret tls NAME --cert FILE --key FILE [-n NAMESPACE]");
  const cert = readInput(options.cert, "certificate");
  const key = readInput(options.key, "key");
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new LocalError(`${options.cert} is not a PEM certificate: ${(error as Error).message}`, "pass the certificate (chain) file as --cert");
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(key))) throw new LocalError(`the key in ${options.key} does not belong to the certificate in ${options.cert}`, "pass the private key that was issued with this certificate");
  } catch (error) {
    if (error instanceof LocalError) throw error;
    // Never quote the file: it is a private key.
    throw new LocalError(`${options.key} is not a PEM private key`, "pass the unencrypted private key as --key");
  }
  return secretManifest(name, options.namespace, "kubernetes.io/tls", new Map([["tls.crt", cert], ["tls.key", key]]));
}

/** `Opaque` from `--from-file=[KEY=]PATH` (the key defaults to the file's name, as in kubectl). */
export function genericSecret(options: { name?: string; namespace: string; fromFile?: string[] }): Manifest {
  const name = checkName(options.name, options.namespace);
  if (!options.fromFile?.length) throw new LocalError("a generic secret needs at least one --from-file", "usage: weftctl local create secret generic NAME --from-file=[KEY=]FILE… [-n NAMESPACE]");
  const data = new Map<string, Buffer>();
  for (const spec of options.fromFile) {
    const eq = spec.indexOf("=");
    const [key, path] = eq > 0 ? [spec.slice(0, eq), spec.slice(eq + 1)] : [basename(spec), spec];
    if (!DATA_KEY.test(key)) throw new LocalError(`--from-file ${spec}: ${JSON.stringify(key)} is not a valid secret key`, "keys may hold letters, digits, '-', '_' and '.'; give one with --from-file=KEY=FILE");
    if (data.has(key)) throw new LocalError(`--from-file ${spec}: key ${key} is given twice`, "give each key once");
    data.set(key, readInput(path, "file"));
  }
  return secretManifest(name, options.namespace, "Opaque", data);
}
