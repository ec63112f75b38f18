// A CertificateProvider backed by the mesh CA: makes a key and CSR, asks the CA, serves the
// result to SDS, and renews at half-life (with jitter) with a fresh key, like Istio's
// secret cache. Failures are retried with backoff while the current certificate keeps
// being served; every new certificate or root fires onChange so SDS pushes it to the proxy
// over the open stream (no connection is dropped: Envoy swaps the secret in place).
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import type { CertificateProvider, WorkloadCertificate } from "../sds/certificate-provider.js";
import type { CaClient } from "./ca-client.js";
import { rotationDelayMs } from "./rotation-delay.js";
import { createWorkloadCsr } from "./workload-csr.js";

/** The certificate's notAfter (Node 22.10+ has validToDate; before, validTo is "Nov 22 23:15:00 2026 GMT"). */
function notAfterOf(cert: X509Certificate): Date {
  return (cert as X509Certificate & { validToDate?: Date }).validToDate ?? new Date(cert.validTo);
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface CaCertificateProviderOptions {
  client: Pick<CaClient, "createCertificate">;
  /** spiffe://<trust-domain>/ns/<ns>/sa/<sa>, put in the CSR (the CA decides the real identity). */
  spiffeId: string;
  /** The mesh root served as ROOTCA (Istio: /var/run/secrets/istio/root-cert.pem). Re-read on every renewal and every `rootPollMs`. */
  rootCertPath: string;
  /** Requested lifetime (Istio SECRET_TTL, 24 h). */
  ttlSeconds?: number;
  /** Istio SECRET_GRACE_PERIOD_RATIO (0.5) and SECRET_GRACE_PERIOD_RATIO_JITTER (0.01). */
  graceRatio?: number;
  graceRatioJitter?: number;
  /** First retry delay after a failure, doubled up to `maxRetryMs`, each with ±50 % jitter (many sidecars must not retry in lockstep). */
  retryMs?: number;
  maxRetryMs?: number;
  rootPollMs?: number;
  now?: () => number;
  random?: () => number;
  timers?: Timers;
  logger: Logger;
}

export interface CaCertificateProvider extends CertificateProvider {
  /** Resolves with the first certificate. */
  ready(): Promise<WorkloadCertificate>;
  /** When the next renewal is due (ms since epoch), undefined while none is scheduled. */
  nextRotationAt(): number | undefined;
  /** Certificates obtained so far. */
  issued(): number;
  /** Why the last attempt failed, cleared by the next success (readiness and logs say it). */
  lastError(): string | undefined;
}

const ROOT_MISSING_POLL_MS = 500;

class RootMissingError extends Error {}

async function readRoot(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = `mesh root certificate (WEFT_CA_ROOT_CERT) ${path}: ${code ?? (error as Error).message}`;
    throw code === "ENOENT" ? new RootMissingError(message) : new Error(message);
  }
  if (!text.trim()) throw new RootMissingError(`mesh root certificate (WEFT_CA_ROOT_CERT) ${path} is empty`);
  return text;
}

const body = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, "");

export function createCaCertificateProvider(o: CaCertificateProviderOptions): CaCertificateProvider {
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const timers: Timers = o.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms).unref(), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
  const ttlSeconds = o.ttlSeconds ?? 24 * 3600;
  const retryMs = o.retryMs ?? 500;
  const maxRetryMs = o.maxRetryMs ?? 30_000;
  const log = o.logger;
  const listeners = new Set<() => void>();

  let cur: WorkloadCertificate | undefined;
  let rotateTimer: unknown;
  let rootTimer: unknown;
  let nextAt: number | undefined;
  let failures = 0;
  let lastError: string | undefined;
  let count = 0;
  let closed = false;
  let resolveReady!: (c: WorkloadCertificate) => void;
  const readyP = new Promise<WorkloadCertificate>((r) => (resolveReady = r));

  const emit = () => {
    for (const l of listeners) {
      try {
        l();
      } catch (error) {
        log.error({ err: error }, "certificate change listener failed");
      }
    }
  };

  const schedule = (delay: number) => {
    if (closed) return;
    timers.clearTimeout(rotateTimer);
    nextAt = now() + delay;
    rotateTimer = timers.setTimeout(() => void fetchOnce(), Math.min(delay, 2 ** 31 - 1));
  };

  const fetchOnce = async () => {
    if (closed) return;
    nextAt = undefined;
    try {
      const rootCert = await readRoot(o.rootCertPath);
      const { keyPem, csrPem } = await createWorkloadCsr(o.spiffeId);
      const chain = await o.client.createCertificate(csrPem, ttlSeconds);
      const notAfter = notAfterOf(new X509Certificate(chain[0]!));
      // SDS `default` gets leaf + intermediates; the root goes out separately as ROOTCA.
      const parts = chain.length > 1 && body(rootCert).includes(body(chain.at(-1)!)) ? chain.slice(0, -1) : chain;
      const createdAt = now();
      const expiresAt = notAfter.getTime();
      if (expiresAt <= createdAt) throw new Error(`CA returned a certificate that expired at ${notAfter.toISOString()}`);
      if (closed) return;
      cur = { certChain: parts.map((p) => (p.endsWith("\n") ? p : `${p}\n`)).join(""), privateKey: keyPem, rootCert };
      failures = 0;
      lastError = undefined;
      count++;
      const delay = rotationDelayMs({ createdAt, expiresAt, graceRatio: o.graceRatio ?? 0.5, graceRatioJitter: o.graceRatioJitter ?? 0.01, now: createdAt, random });
      log.info({ spiffeId: o.spiffeId, notAfter: notAfter.toISOString(), rotateInMs: Math.round(delay) }, "workload certificate issued");
      // Schedule first so listeners already see the next rotation time.
      schedule(delay);
      resolveReady(cur);
      emit();
    } catch (error) {
      if (closed) return;
      const message = (error as Error).message;
      // A root file that is not there yet (discovery still starting) is local and cheap to
      // check: look again soon instead of backing off, so the first certificate comes as soon
      // as the CA publishes its root. Everything else backs off.
      const delay =
        error instanceof RootMissingError
          ? Math.min(retryMs, ROOT_MISSING_POLL_MS)
          : Math.round(Math.min(maxRetryMs, retryMs * 2 ** Math.min(failures++, 30)) * (0.5 + random()));
      // The same failure again is logged at debug: a sidecar waiting for its CA must not flood its log.
      log[message === lastError ? "debug" : "warn"]({ err: message, retryInMs: delay, attempt: failures }, "getting a workload certificate from the CA failed; retrying");
      lastError = message;
      schedule(delay);
    }
  };

  const pollRoot = async () => {
    if (closed) return;
    try {
      const root = await readFile(o.rootCertPath, "utf8");
      if (cur && root.trim() && root !== cur.rootCert) {
        cur = { ...cur, rootCert: root };
        log.info({ path: o.rootCertPath }, "mesh root changed");
        emit();
      }
    } catch {
      // A missing root file is reported by the next renewal; keep serving the last root.
    }
    if (!closed) rootTimer = timers.setTimeout(() => void pollRoot(), o.rootPollMs ?? 30_000);
  };

  void fetchOnce();
  rootTimer = timers.setTimeout(() => void pollRoot(), o.rootPollMs ?? 30_000);

  return {
    current: () => cur,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    ready: () => readyP,
    nextRotationAt: () => nextAt,
    issued: () => count,
    lastError: () => lastError,
    close() {
      closed = true;
      timers.clearTimeout(rotateTimer);
      timers.clearTimeout(rootTimer);
      listeners.clear();
    },
  };
}
