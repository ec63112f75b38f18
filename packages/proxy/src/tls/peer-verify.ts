// Weft's checks on a peer's leaf certificate, run after the chain itself was
// validated against the trusted CA (OpenSSL does that during the handshake):
// Envoy's SAN matching plus stricter rules a mesh identity must meet. Each
// failure names the Envoy stat it counts under.
import type { PeerCertificate } from "./peer-certificate.js";
import type { SanPredicate } from "./san-matcher.js";

export type VerifyFailure = {
  /** Envoy's ssl stat suffix: fail_verify_san, fail_verify_error. */
  stat: "fail_verify_san" | "fail_verify_error";
  reason: string;
};

export interface PeerPolicy {
  sanMatch?: SanPredicate;
  /** CertificateValidationContext.allow_expired_certificate. */
  allowExpired: boolean;
}

/** undefined when the peer is acceptable. */
export function verifyPeer(cert: PeerCertificate, policy: PeerPolicy, now = Date.now()): VerifyFailure | undefined {
  if (!policy.allowExpired) {
    if (cert.notAfter.getTime() < now) return { stat: "fail_verify_error", reason: `certificate expired at ${cert.notAfter.toISOString()}` };
    if (cert.notBefore.getTime() > now) return { stat: "fail_verify_error", reason: `certificate not valid before ${cert.notBefore.toISOString()}` };
  }
  // A workload identity is never a CA: a CA=true leaf could mint other identities.
  if (cert.isCa) return { stat: "fail_verify_error", reason: "peer leaf certificate has CA=true" };
  // One identity per certificate: with two URI SANs, which one is the principal would be ambiguous.
  if (cert.uriSans.length > 1) return { stat: "fail_verify_error", reason: `peer certificate has ${cert.uriSans.length} URI SANs; exactly one is allowed` };
  // A NUL truncates the name for C string consumers (the classic SAN spoofing trick).
  if (cert.sans.some((s) => s.hasNul)) return { stat: "fail_verify_error", reason: "peer certificate has a NUL byte in a subject alternative name" };
  if (policy.sanMatch && !policy.sanMatch(cert.sans)) {
    return { stat: "fail_verify_san", reason: `no subject alternative name matches (peer has ${cert.sans.map((s) => `${s.type}:${s.value}`).join(", ") || "none"})` };
  }
  return undefined;
}
