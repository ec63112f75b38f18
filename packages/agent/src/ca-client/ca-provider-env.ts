// Which certificate source the agent should use, from the environment, with Istio's
// variable names where they exist:
//   CA_ADDR                           CA host:port (agent env already reads it; Istio default istiod…:15012)
//   SECRET_TTL                        requested workload certificate lifetime (Go duration, default 24h)
//   SECRET_GRACE_PERIOD_RATIO         renew at this fraction of the lifetime (default 0.5)
//   SECRET_GRACE_PERIOD_RATIO_JITTER  ± jitter of that fraction (default 0.01)
//   WEFT_CA_ROOT_CERT                 mesh root file (default /var/run/secrets/istio/root-cert.pem,
//                                     where Istio mounts ConfigMap istio-ca-root-cert); local mode:
//                                     <discovery --ca-dir>/root-cert.pem
//   WEFT_CA_TOKEN_FILE                bearer token file (default /var/run/secrets/tokens/istio-token);
//                                     local mode: the workload's credential file written by weftctl
//   WEFT_CA_SERVERNAME                name to check the CA certificate against when CA_ADDR is an IP
//                                     that is not in it (the CA's certificate covers 127.0.0.1, localhost
//                                     and istiod.istio-system.svc[.<domain>])
//   ISTIO_META_CERT_SIGNER            sent to the CA as request metadata CertSigner
// The CA is used when the token file exists; otherwise the agent keeps the file provider.
import { existsSync } from "node:fs";
import type { Logger } from "pino";
import { AgentError } from "../errors.js";
import { parseDuration } from "../env/duration.js";
import { createCaCertificateProvider, type CaCertificateProvider } from "./ca-certificate-provider.js";
import { caUrl, createCaClient } from "./ca-client.js";

export const DEFAULT_CA_ROOT_CERT = "/var/run/secrets/istio/root-cert.pem";
export const DEFAULT_CA_TOKEN_FILE = "/var/run/secrets/tokens/istio-token";

export interface CaProviderSettings {
  caAddr: string;
  rootCertPath: string;
  tokenPath: string;
  servername: string | undefined;
  spiffeId: string;
  ttlSeconds: number;
  graceRatio: number;
  graceRatioJitter: number;
  certSigner?: string | undefined;
}

function ratio(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new AgentError("invalid_env", `${name}: "${v}" is not a ratio between 0 and 1`);
  return n;
}

/** The CA settings, or undefined when no token file exists (no CA credential: keep file certificates). */
export function loadCaProviderSettings(
  env: Record<string, string | undefined>,
  identity: { caAddr: string; trustDomain: string; podNamespace: string; serviceAccount: string },
): CaProviderSettings | undefined {
  const tokenPath = env.WEFT_CA_TOKEN_FILE || DEFAULT_CA_TOKEN_FILE;
  if (!existsSync(tokenPath)) {
    if (env.WEFT_CA_TOKEN_FILE) {
      throw new AgentError("invalid_env", `WEFT_CA_TOKEN_FILE: ${tokenPath} does not exist (the workload's CA token: weftctl local writes one per workload; in Kubernetes the projected istio-token)`);
    }
    return undefined;
  }
  caUrl(identity.caAddr); // validates CA_ADDR with a message naming it
  const ttlMs = parseDuration(env.SECRET_TTL || "24h", "SECRET_TTL");
  if (ttlMs < 1000) throw new AgentError("invalid_env", `SECRET_TTL: "${env.SECRET_TTL}" is shorter than 1s`);
  return {
    caAddr: identity.caAddr,
    rootCertPath: env.WEFT_CA_ROOT_CERT || DEFAULT_CA_ROOT_CERT,
    tokenPath,
    servername: env.WEFT_CA_SERVERNAME || undefined,
    spiffeId: `spiffe://${identity.trustDomain}/ns/${identity.podNamespace}/sa/${identity.serviceAccount}`,
    ttlSeconds: Math.round(ttlMs / 1000),
    graceRatio: ratio(env, "SECRET_GRACE_PERIOD_RATIO", 0.5),
    graceRatioJitter: ratio(env, "SECRET_GRACE_PERIOD_RATIO_JITTER", 0.01),
    ...(env.ISTIO_META_CERT_SIGNER ? { certSigner: env.ISTIO_META_CERT_SIGNER } : {}),
  };
}

/** The CA-backed provider for these settings (what startAgent's `certificateProvider` option takes). */
export function createCaCertificateProviderFromSettings(s: CaProviderSettings, logger: Logger): CaCertificateProvider {
  return createCaCertificateProvider({
    client: createCaClient({
      caAddr: s.caAddr,
      rootCertPath: s.rootCertPath,
      tokenPath: s.tokenPath,
      ...(s.servername ? { servername: s.servername } : {}),
      ...(s.certSigner ? { certSigner: s.certSigner } : {}),
    }),
    spiffeId: s.spiffeId,
    rootCertPath: s.rootCertPath,
    ttlSeconds: s.ttlSeconds,
    graceRatio: s.graceRatio,
    graceRatioJitter: s.graceRatioJitter,
    logger,
  });
}
