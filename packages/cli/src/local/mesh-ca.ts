// The local mesh's CA wiring: discovery runs its CA with `--ca-dir <state>/ca`, and each
// sidecar (and the ingress gateway) gets a per-workload token that the CA maps back to the
// workload's namespace and service account (discovery's local authenticator reads
// `<ca-dir>/workloads.json`: { "<token>": { "namespace", "serviceAccount" } }, mode 0600,
// tokens of at least 32 characters). weftctl cannot import discovery, so the file is written
// here in that documented format; discovery re-reads it when it changes.
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The CA's TLS port, as istiod's; xDS is served there too, behind the same tokens. */
export const DISCOVERY_CA_PORT = 15012;
export const TRUST_DOMAIN = "cluster.local";
/** A name in discovery's serving certificate; sidecars dial the bridge IP, which is not in it. */
export const DISCOVERY_SERVER_NAME = "istiod.istio-system.svc";

export interface WorkloadIdentity {
  namespace: string;
  serviceAccount: string;
}

export interface MeshCaLayout {
  caDir: string;
  rootCertPath: string;
  credentialsFile: string;
}

export function meshCaLayout(stateDir: string): MeshCaLayout {
  const caDir = join(stateDir, "ca");
  return { caDir, rootCertPath: join(caDir, "root-cert.pem"), credentialsFile: join(caDir, "workloads.json") };
}

/**
 * Creates the CA directory before discovery does: 0711 so a sidecar (uid 1337) can read the
 * published root-cert.pem by name without listing the directory; the CA key inside stays 0600.
 */
export function prepareCaDir(layout: MeshCaLayout): void {
  mkdirSync(layout.caDir, { recursive: true });
  chmodSync(layout.caDir, 0o711);
}

/** A fresh random token: 32 bytes, base64url (43 characters). */
export function newWorkloadToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Writes the whole credentials file atomically, 0600 (tokens are secrets). */
export function writeWorkloadCredentials(layout: MeshCaLayout, entries: ReadonlyMap<string, WorkloadIdentity>): void {
  const doc: Record<string, WorkloadIdentity> = {};
  for (const [token, id] of entries) doc[token] = { namespace: id.namespace, serviceAccount: id.serviceAccount };
  const tmp = `${layout.credentialsFile}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, layout.credentialsFile);
}

/**
 * The workload's copy of its token (its "projected istio-token"), readable by the sidecar's
 * uid only when one is given.
 */
export function writeTokenFile(dir: string, token: string, uid?: number): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, "istio-token");
  writeFileSync(path, `${token}\n`, { mode: 0o400 });
  if (uid !== undefined) {
    chownSync(dir, uid, uid);
    chownSync(path, uid, uid);
  }
  return path;
}

/** What an agent needs to use the CA and reach discovery over TLS (pilot-agent's variables plus Weft's local credentials). */
export function caAgentEnv(discoveryHost: string, layout: MeshCaLayout, tokenFile: string): Record<string, string> {
  const addr = `${discoveryHost}:${DISCOVERY_CA_PORT}`;
  return {
    WEFT_DISCOVERY_ADDRESS: addr,
    CA_ADDR: addr,
    WEFT_CA_TOKEN_FILE: tokenFile,
    WEFT_CA_ROOT_CERT: layout.rootCertPath,
    WEFT_CA_SERVERNAME: DISCOVERY_SERVER_NAME,
  };
}

export interface LocalMeshCa {
  layout: MeshCaLayout;
  /** weft-discovery flags that run its CA (and xDS over TLS) on <caHost>:15012. */
  discoveryArgs: string[];
  /** The agent variables for one of the pods given to provisionLocalCa(); writes its token file under `secretsDir`. */
  agentEnv(pod: WorkloadIdentity & { name: string }, secretsDir: string, uid?: number): Record<string, string>;
}

/**
 * Everything `local up` does for the CA before starting processes: the CA directory, one
 * token per sidecar-carrying pod (gateway included) recorded in workloads.json, and the
 * matching discovery flags. Identities are keyed by namespace/name.
 */
export function provisionLocalCa(stateDir: string, caHost: string, pods: ReadonlyArray<WorkloadIdentity & { name: string }>): LocalMeshCa {
  const layout = meshCaLayout(stateDir);
  prepareCaDir(layout);
  const tokens = new Map<string, string>();
  const credentials = new Map<string, WorkloadIdentity>();
  for (const pod of pods) {
    const token = newWorkloadToken();
    tokens.set(`${pod.namespace}/${pod.name}`, token);
    credentials.set(token, pod);
  }
  writeWorkloadCredentials(layout, credentials);
  return {
    layout,
    discoveryArgs: ["--ca-dir", layout.caDir, "--ca-addr", `${caHost}:${DISCOVERY_CA_PORT}`, "--trust-domain", TRUST_DOMAIN],
    agentEnv(pod, secretsDir, uid) {
      const token = tokens.get(`${pod.namespace}/${pod.name}`);
      if (!token) throw new Error(`no CA token was provisioned for ${pod.namespace}/${pod.name}`);
      return caAgentEnv(caHost, layout, writeTokenFile(secretsDir, token, uid));
    },
  };
}
