// Local mode's per-workload credentials. The local runtime (weftctl) gives each workload a
// random token and records it in a credentials file; the CA maps a presented token back to
// the workload's namespace and service account. File format (JSON, mode 0600):
//
//   { "<token>": { "namespace": "default", "serviceAccount": "sleep" }, ... }
//
// Tokens must be at least 32 characters (weftctl writes 32 random bytes, base64url). The
// file is re-read when its size or mtime changes, so workloads can be added while running.
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import type { Logger } from "pino";
import { AuthenticationError, bearerToken, type AuthenticatedCaller, type Authenticator } from "./authenticator.js";
import { spiffeId, type WorkloadIdentity } from "./spiffe-id.js";

export const MIN_TOKEN_LENGTH = 32;

const digest = (token: string) => createHash("sha256").update(token).digest();

/** Parses the credentials file; errors name the file and entry (never the token). */
export function parseWorkloadCredentials(text: string, path: string): Map<string, WorkloadIdentity> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not JSON: ${(error as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new Error(`${path}: expected an object mapping token → {namespace, serviceAccount}`);
  const out = new Map<string, WorkloadIdentity>();
  let i = 0;
  for (const [token, v] of Object.entries(doc)) {
    i++;
    const where = `${path}: entry #${i}`;
    if (token.length < MIN_TOKEN_LENGTH) throw new Error(`${where}: token is shorter than ${MIN_TOKEN_LENGTH} characters`);
    const e = v as Partial<WorkloadIdentity> | null;
    if (typeof e !== "object" || e === null || typeof e.namespace !== "string" || typeof e.serviceAccount !== "string") {
      throw new Error(`${where}: expected {"namespace": string, "serviceAccount": string}`);
    }
    const id = { namespace: e.namespace, serviceAccount: e.serviceAccount };
    try {
      spiffeId("cluster.local", id);
    } catch (error) {
      throw new Error(`${where}: ${(error as Error).message}`);
    }
    out.set(digest(token).toString("hex"), id);
  }
  return out;
}

export interface LocalAuthenticatorOptions {
  /** Path of the credentials file, conventionally `<ca-dir>/workloads.json`. */
  credentialsFile: string;
  logger: Logger;
}

export function createLocalAuthenticator(o: LocalAuthenticatorOptions): Authenticator {
  // Keyed by SHA-256 of the token: a Map lookup on a digest leaks nothing useful through timing.
  let byDigest = new Map<string, WorkloadIdentity>();
  let stamp = "";

  const refresh = async () => {
    let s;
    try {
      s = await stat(o.credentialsFile);
    } catch {
      if (stamp !== "missing") o.logger.warn({ file: o.credentialsFile }, "workload credentials file missing; every caller is unauthenticated");
      stamp = "missing";
      byDigest = new Map();
      return;
    }
    const next = `${s.size}:${s.mtimeMs}`;
    if (next === stamp) return;
    try {
      byDigest = parseWorkloadCredentials(await readFile(o.credentialsFile, "utf8"), o.credentialsFile);
      stamp = next;
      o.logger.info({ file: o.credentialsFile, workloads: byDigest.size }, "workload credentials loaded");
    } catch (error) {
      // Keep the previous credentials: a half-written or broken file must not lock everyone out.
      o.logger.error({ err: (error as Error).message }, "workload credentials file rejected; keeping the previous one");
    }
  };

  return {
    name: "local",
    async authenticate(headers): Promise<AuthenticatedCaller> {
      const token = bearerToken(headers);
      await refresh();
      const id = byDigest.get(digest(token).toString("hex"));
      if (!id) throw new AuthenticationError("authentication failed", "unknown workload token");
      return { ...id, authenticator: "local" };
    },
  };
}
