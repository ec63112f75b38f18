// One verdict on a TLS peer for both directions, in the order of Envoy's
// DefaultCertValidator: the chain (OpenSSL's result, and the leaf's CRL when
// Weft checks it itself), Weft's strict leaf rules and the SAN matchers, then
// verify_certificate_hash / verify_certificate_spki (either list may match).
import { createHash, type X509Certificate } from "node:crypto";
import { leafRevocation } from "./crl.js";
import type { PeerCertificate } from "./peer-certificate.js";
import { verifyPeer } from "./peer-verify.js";
import type { ValidationSecret } from "./compile-secret.js";
import type { TlsStats } from "./tls-stats.js";

export interface PeerVerdict {
  ok: boolean;
  reason?: string;
}

/**
 * Weft's own CRL check of the leaf, where OpenSSL's cannot do what Envoy does:
 * only_verify_leaf_cert_crl (Node's `crl` option always checks the whole
 * chain), and allow_expired_certificate (OpenSSL reports the last of several
 * errors, so an expired and revoked leaf would read as merely expired).
 * `issuer` gives the leaf's issuer from the verified chain (looked up only when needed).
 */
export function leafCrlError(cert: PeerCertificate, issuer: () => X509Certificate | undefined, v: ValidationSecret): string | undefined {
  if (v.crls.length === 0 || !(v.onlyLeafCrl || v.allowExpired)) return undefined;
  return leafRevocation(cert.der, issuer(), v.crls, !v.allowExpired);
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
  const f = verifyPeer(cert, { sanMatch: v.sanMatch, allowExpired: v.allowExpired });
  if (f) {
    (f.stat === "fail_verify_san" ? stats.failVerifySan : stats.failVerifyError).inc();
    return { ok: false, reason: f.reason };
  }
  if (v.certHashes.length > 0 || v.spkiHashes.length > 0) {
    const hashOk = v.certHashes.length > 0 && v.certHashes.includes(cert.sha256Hex);
    const spkiOk = !hashOk && v.spkiHashes.length > 0 && v.spkiHashes.includes(createHash("sha256").update(cert.spkiDer).digest("hex"));
    if (!hashOk && !spkiOk) {
      stats.failVerifyCertHash.inc();
      return { ok: false, reason: "peer certificate matches neither verify_certificate_hash nor verify_certificate_spki" };
    }
  }
  return { ok: true };
}
