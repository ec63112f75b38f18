// One verdict on a TLS peer for both directions: chain (OpenSSL's result),
// verify_certificate_hash, Weft's strict leaf rules and SAN matching.
import type { PeerCertificate } from "./peer-certificate.js";
import { verifyPeer } from "./peer-verify.js";
import type { ValidationSecret } from "./compile-secret.js";
import type { TlsStats } from "./tls-stats.js";

export interface PeerVerdict {
  ok: boolean;
  reason?: string;
}

/**
 * `chainError` is OpenSSL's verification error (undefined when the chain
 * validated). Counts the failure in `stats`.
 */
export function checkPeer(cert: PeerCertificate | undefined, chainError: string | undefined, v: ValidationSecret, stats: TlsStats): PeerVerdict {
  if (!cert) {
    stats.failVerifyNoCert.inc();
    return { ok: false, reason: "peer did not present a certificate" };
  }
  if (chainError && !v.acceptUntrusted && !(v.allowExpired && chainError === "CERT_HAS_EXPIRED")) {
    stats.failVerifyError.inc();
    return { ok: false, reason: `certificate verification failed: ${chainError}` };
  }
  if (v.certHashes.length > 0 && !v.certHashes.includes(cert.sha256Hex)) {
    stats.failVerifyCertHash.inc();
    return { ok: false, reason: "peer certificate hash is not in verify_certificate_hash" };
  }
  const f = verifyPeer(cert, { sanMatch: v.sanMatch, allowExpired: v.allowExpired });
  if (f) {
    (f.stat === "fail_verify_san" ? stats.failVerifySan : stats.failVerifyError).inc();
    return { ok: false, reason: f.reason };
  }
  return { ok: true };
}
