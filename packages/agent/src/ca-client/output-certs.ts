// Istio's OUTPUT_CERTS: when set, the agent also writes the workload key, chain and root it
// got from the CA into that directory (key.pem, cert-chain.pem, root-cert.pem), for apps
// that read certificates from files. Each file is replaced atomically; the key is 0600.
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { WorkloadCertificate } from "../sds/certificate-provider.js";

export const OUTPUT_FILES = { certChain: "cert-chain.pem", key: "key.pem", rootCert: "root-cert.pem" } as const;

async function replace(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, path);
}

export async function writeOutputCerts(dir: string, cert: WorkloadCertificate): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Key first: a reader that sees the new chain must find the matching key already there.
  await replace(join(dir, OUTPUT_FILES.key), cert.privateKey, 0o600);
  await replace(join(dir, OUTPUT_FILES.certChain), cert.certChain, 0o644);
  await replace(join(dir, OUTPUT_FILES.rootCert), cert.rootCert, 0o644);
}
