import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { watch, type FSWatcher } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "pino";

/** The workload's key material, PEM encoded. */
export interface WorkloadCertificate {
  certChain: string;
  privateKey: string;
  rootCert: string;
}

/**
 * Where SDS gets certificates. Today: files (OUTPUT_CERTS, mounted secrets). The security
 * issue adds a provider that generates a key and CSR, asks discovery's CA, and rotates at
 * half-life; SDS only sees `current()` and change notifications.
 */
export interface CertificateProvider {
  /** The current material, or undefined while there is none yet (SDS then holds its response). */
  current(): WorkloadCertificate | undefined;
  /** Called after every change of any of the three parts. */
  onChange(listener: () => void): () => void;
  close(): void;
}

export interface FileCertificatePaths {
  certChain: string;
  key: string;
  rootCert: string;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Serves the three PEM files and reloads them when they change: fs.watch on their
 * directories (Kubernetes swaps mounted secrets by renaming `..data`) plus a poll as a
 * fallback for filesystems that don't report events.
 */
export async function createFileCertificateProvider(paths: FileCertificatePaths, log: Logger, pollMs = 2000): Promise<CertificateProvider> {
  const listeners = new Set<() => void>();
  let cur: WorkloadCertificate | undefined;
  let fingerprint = "";
  let reloading: Promise<void> | undefined;
  let closed = false;

  const load = async () => {
    const [certChain, privateKey, rootCert] = await Promise.all([readOptional(paths.certChain), readOptional(paths.key), readOptional(paths.rootCert)]);
    const next = certChain && privateKey && rootCert ? { certChain, privateKey, rootCert } : undefined;
    const fp = next ? createHash("sha256").update(certChain!).update(privateKey!).update(rootCert!).digest("hex") : "";
    if (fp === fingerprint) return;
    fingerprint = fp;
    cur = next;
    if (!next) {
      const missing = Object.entries({ [paths.certChain]: certChain, [paths.key]: privateKey, [paths.rootCert]: rootCert }).filter(([, v]) => !v).map(([k]) => k);
      log.warn({ missing }, "workload certificate files missing; SDS waits for them");
    } else log.info({ certChain: paths.certChain }, "workload certificate loaded");
    for (const l of listeners) l();
  };
  const reload = () => {
    if (closed) return;
    reloading ??= load()
      .catch((err) => log.warn({ err: (err as Error).message }, "reading certificate files failed"))
      .finally(() => (reloading = undefined));
  };

  await load();
  const watchers: FSWatcher[] = [];
  for (const dir of new Set([dirname(paths.certChain), dirname(paths.key), dirname(paths.rootCert)])) {
    try {
      await stat(dir);
      const w = watch(dir, () => setTimeout(reload, 50));
      w.on("error", () => undefined);
      watchers.push(w);
    } catch {
      // The directory may appear later; the poll covers it.
    }
  }
  const timer = setInterval(reload, pollMs);
  timer.unref();

  return {
    current: () => cur,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      clearInterval(timer);
      for (const w of watchers) w.close();
    },
  };
}
