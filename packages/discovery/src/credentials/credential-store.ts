// The Secrets of one push, looked up as istiod's credentials controller does
// (pilot/pkg/credentials/kube/secrets.go): GetCertInfo reads `<name>`;
// GetCaCert reads a Secret literally named `<name>-cacert` first and, when
// there is none, the CA keys of `<name>` itself.
import type { ConfigObject } from "../contracts.js";
import { extractCertInfo, extractRoot, type CertInfo } from "./cert-info.js";
import { CredentialError } from "./credential-error.js";
import { decodeSecretData } from "./secret-data.js";

/** The suffix of the CA resource of a credential (Istio's SdsCaSuffix). */
export const CA_SUFFIX = "-cacert";

export interface CredentialStore {
  /** Certificate chain and key of Secret `namespace/name`; throws CredentialError. */
  certInfo(namespace: string, name: string): CertInfo;
  /** CA bundle for `name` (which ends in -cacert); throws CredentialError. */
  caCert(namespace: string, name: string): CertInfo;
  /** `namespace/name` of every Secret held (tests, debug). */
  names(): string[];
}

/** Decoded data per Secret object; objects of unchanged files are reused across snapshots, so this decodes each once. */
const decodedCache = new WeakMap<ConfigObject, Map<string, Buffer>>();

function dataOf(o: ConfigObject): Map<string, Buffer> {
  let data = decodedCache.get(o);
  if (!data) {
    // The source validated the object; anything it skipped (a bad key) is simply absent here.
    data = decodeSecretData(o.raw).data;
    decodedCache.set(o, data);
  }
  return data;
}

export function buildCredentialStore(objects: readonly ConfigObject[]): CredentialStore {
  const secrets = new Map<string, ConfigObject>();
  for (const o of objects) if (o.kind === "Secret" && o.apiVersion === "v1") secrets.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
  const get = (namespace: string, name: string) => secrets.get(`${namespace}/${name}`);
  return {
    certInfo(namespace, name) {
      const o = get(namespace, name);
      if (!o) throw new CredentialError("NOT_FOUND", `Secret ${namespace}/${name} not found`);
      return extractCertInfo(`${namespace}/${name}`, dataOf(o));
    },
    caCert(namespace, name) {
      const own = get(namespace, name);
      if (own) return extractRoot(`${namespace}/${name}`, dataOf(own));
      const stripped = name.endsWith(CA_SUFFIX) ? name.slice(0, -CA_SUFFIX.length) : name;
      const base = get(namespace, stripped);
      if (!base) throw new CredentialError("NOT_FOUND", `Secret ${namespace}/${name} not found, nor ${namespace}/${stripped} with a cacert or ca.crt key`);
      return extractRoot(`${namespace}/${stripped}`, dataOf(base));
    },
    names: () => [...secrets.keys()].sort(),
  };
}

export const EMPTY_CREDENTIAL_STORE: CredentialStore = buildCredentialStore([]);
