// Writing the local credentials file the CA reads (format in local-authenticator.ts): what
// the local runtime (weftctl) calls when it starts a workload. Writes are atomic and 0600;
// concurrent calls in one process are serialised so none is lost.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "./ca-material.js";
import { parseWorkloadCredentials } from "./local-authenticator.js";
import { spiffeId, type WorkloadIdentity } from "./spiffe-id.js";

let queue: Promise<unknown> = Promise.resolve();
const serialised = <T>(fn: () => Promise<T>): Promise<T> => {
  const next = queue.then(fn, fn);
  queue = next.catch(() => undefined);
  return next;
};

async function readEntries(file: string): Promise<Record<string, WorkloadIdentity>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw error;
  }
  parseWorkloadCredentials(text, file); // refuse to extend a file the CA would reject
  return JSON.parse(text) as Record<string, WorkloadIdentity>;
}

/** Adds a fresh random token for `identity` and returns it (give it to the workload's agent as its token file). */
export async function addWorkloadCredential(file: string, identity: WorkloadIdentity): Promise<string> {
  spiffeId("cluster.local", identity); // same name rules as the CA
  return serialised(async () => {
    const entries = await readEntries(file);
    const token = randomBytes(32).toString("base64url");
    entries[token] = { namespace: identity.namespace, serviceAccount: identity.serviceAccount };
    await writeFileAtomic(file, `${JSON.stringify(entries, null, 2)}\n`, 0o600);
    return token;
  });
}

/** Removes a token (a workload that is gone); true when it was there. */
export function removeWorkloadCredential(file: string, token: string): Promise<boolean> {
  return serialised(async () => {
    const entries = await readEntries(file);
    if (!(token in entries)) return false;
    delete entries[token];
    await writeFileAtomic(file, `${JSON.stringify(entries, null, 2)}\n`, 0o600);
    return true;
  });
}
