// The mesh CA: signing material from cacerts or a self-signed root, workload leaves for
// authenticated callers, serving certificates for discovery itself, the root published as
// a file (the local ConfigMap istio-ca-root-cert), and self-signed root renewal at 80 %.
import { join } from "node:path";
import type { Logger } from "pino";
import { CaError } from "./ca-error.js";
import { createSelfSigned, hasPluggedIn, loadPluggedIn, loadSelfSigned, renewSelfSigned, writeFileAtomic, CA_FILES, type SigningMaterial } from "./ca-material.js";
import type { CaKeyAlgorithm } from "./pem.js";
import { DEFAULT_ROOT_TTL_MS } from "./self-signed-root.js";
import { parseCsr, signLeaf } from "./sign-csr.js";
import { checkTrustDomain, spiffeId, type WorkloadIdentity } from "./spiffe-id.js";

const HOUR = 3600_000;

export interface CertificateAuthorityOptions {
  /** Self-signed material lives here (istio-ca-secret layout); the root is published as `<caDir>/root-cert.pem`. */
  caDir: string;
  /** Plugged-in CA (Secret `cacerts` analogue); default `<caDir>/cacerts`. Used when it holds ca-cert.pem/ca-key.pem. */
  cacertsDir?: string;
  trustDomain?: string;
  /** Key for a new self-signed root: RSA 2048 like Istio (default) or ECDSA P-256. */
  keyAlgorithm?: CaKeyAlgorithm;
  /** Self-signed root lifetime; Istio's default is 10 years. */
  rootTtlMs?: number;
  /** Renew the self-signed root once this fraction of its life has passed (Istio: 80 %, i.e. 20 % grace). */
  rootRenewFraction?: number;
  /** How often to check the root (Istio CITADEL_SELF_SIGNED_ROOT_CERT_CHECK_INTERVAL, 1 h). 0 disables the timer. */
  rootCheckIntervalMs?: number;
  /** Workload certificate TTL when the request has none (Istio DEFAULT_WORKLOAD_CERT_TTL, 24 h). */
  defaultTtlMs?: number;
  /** Longest TTL handed out; longer requests are capped (Istio MAX_WORKLOAD_CERT_TTL, 90 days). */
  maxTtlMs?: number;
  /** notBefore is backdated by this much so peers with slightly slow clocks accept new certificates. */
  clockSkewMs?: number;
  now?: () => number;
  logger: Logger;
}

export interface IssueRequest {
  csr: string;
  /** Requested lifetime in ms (IstioCertificateRequest.validity_duration); <= 0 means the default. */
  ttlMs?: number;
}

export interface CertificateAuthority {
  readonly trustDomain: string;
  readonly source: "self-signed" | "plugged-in";
  /** The mesh root, PEM. */
  rootCertPem(): string;
  /** Path of the published root file. */
  readonly rootCertPath: string;
  /** Signs a workload certificate for `caller`; returns Istio's cert_chain: leaf, intermediates, root. */
  issueWorkloadCertificate(caller: WorkloadIdentity, req: IssueRequest): Promise<string[]>;
  /** Signs a server certificate (DNS/IP SANs) for discovery's own TLS endpoints. */
  issueServingCertificate(csr: string, hosts: string[], ttlMs: number): Promise<string[]>;
  /** Renews the self-signed root when due; true when it did. Called by the timer, callable by tests. */
  checkRootRotation(): Promise<boolean>;
  /** Called with the new root after a renewal. */
  onRootChange(listener: (rootPem: string) => void): () => void;
  close(): void;
}

export async function createCertificateAuthority(o: CertificateAuthorityOptions): Promise<CertificateAuthority> {
  const now = o.now ?? Date.now;
  const log = o.logger;
  const trustDomain = checkTrustDomain(o.trustDomain ?? "cluster.local");
  const cacertsDir = o.cacertsDir ?? join(o.caDir, "cacerts");
  const rootTtlMs = o.rootTtlMs ?? DEFAULT_ROOT_TTL_MS;
  const renewFraction = o.rootRenewFraction ?? 0.8;
  const defaultTtlMs = o.defaultTtlMs ?? 24 * HOUR;
  const maxTtlMs = o.maxTtlMs ?? 90 * 24 * HOUR;
  const skewMs = o.clockSkewMs ?? 60_000;
  if (!(renewFraction > 0 && renewFraction < 1)) throw new CaError("BAD_CA_MATERIAL", `rootRenewFraction ${renewFraction}: expected a fraction between 0 and 1`);
  if (defaultTtlMs > maxTtlMs) throw new CaError("BAD_CA_MATERIAL", `default workload TTL ${defaultTtlMs} ms exceeds the maximum ${maxTtlMs} ms`);
  const rootCertPath = join(o.caDir, CA_FILES.root);

  let material: SigningMaterial;
  if (hasPluggedIn(cacertsDir)) {
    material = (await loadPluggedIn(cacertsDir, new Date(now())))!;
    log.info({ dir: cacertsDir, subject: material.caCert.subject }, "using plugged-in CA certificate");
  } else {
    const existing = await loadSelfSigned(o.caDir);
    if (existing) {
      material = existing;
      log.info({ dir: o.caDir, notAfter: existing.caCert.notAfter.toISOString() }, "loaded self-signed root");
    } else {
      material = await createSelfSigned({ dir: o.caDir, org: trustDomain, ttlMs: rootTtlMs, keyAlgorithm: o.keyAlgorithm ?? "rsa-2048", now: new Date(now()) });
      log.info({ dir: o.caDir, keyAlgorithm: o.keyAlgorithm ?? "rsa-2048" }, "generated self-signed root");
    }
  }
  await writeFileAtomic(rootCertPath, material.rootPem);

  const listeners = new Set<(rootPem: string) => void>();
  let rotating: Promise<boolean> | undefined;

  const rotate = async (): Promise<boolean> => {
    if (material.source !== "self-signed") return false;
    const nb = material.caCert.notBefore.getTime();
    const na = material.caCert.notAfter.getTime();
    if (now() < nb + (na - nb) * renewFraction) return false;
    material = await renewSelfSigned(material, rootTtlMs, new Date(now()));
    log.info({ notAfter: material.caCert.notAfter.toISOString() }, "renewed self-signed root with the same key");
    for (const l of listeners) l(material.rootPem);
    return true;
  };
  const checkRootRotation = () => (rotating ??= rotate().finally(() => (rotating = undefined)));

  const interval = o.rootCheckIntervalMs ?? HOUR;
  const timer = interval > 0 ? setInterval(() => void checkRootRotation().catch((err: unknown) => log.error({ err }, "self-signed root renewal failed")), interval) : undefined;
  timer?.unref();
  await checkRootRotation();

  const chainFor = (leaf: string) => [leaf, ...material.intermediatesPem, material.rootPem];
  const validity = (ttlMs: number) => {
    const t = now();
    const notAfter = Math.min(t + ttlMs, material.caCert.notAfter.getTime());
    return { notBefore: new Date(t - skewMs), notAfter: new Date(notAfter) };
  };

  return {
    trustDomain,
    get source() {
      return material.source;
    },
    rootCertPath,
    rootCertPem: () => material.rootPem,
    async issueWorkloadCertificate(caller, req) {
      const uri = spiffeId(trustDomain, caller);
      const csr = await parseCsr(req.csr);
      let ttl = req.ttlMs !== undefined && req.ttlMs > 0 ? req.ttlMs : defaultTtlMs;
      if (ttl > maxTtlMs) {
        log.debug({ requestedMs: ttl, maxTtlMs }, "requested certificate TTL capped");
        ttl = maxTtlMs;
      }
      const leaf = await signLeaf(material, { csr, san: { uri }, ...validity(ttl) });
      log.debug({ identity: uri, ttlMs: ttl }, "issued workload certificate");
      return chainFor(leaf);
    },
    async issueServingCertificate(csrPem, hosts, ttlMs) {
      const csr = await parseCsr(csrPem);
      const ips = hosts.filter((h) => /^[\d.]+$/.test(h) || h.includes(":"));
      const dns = hosts.filter((h) => !ips.includes(h));
      return chainFor(await signLeaf(material, { csr, san: { dns, ips }, ...validity(Math.min(ttlMs, maxTtlMs)) }));
    },
    checkRootRotation,
    onRootChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      if (timer) clearInterval(timer);
      listeners.clear();
    },
  };
}
