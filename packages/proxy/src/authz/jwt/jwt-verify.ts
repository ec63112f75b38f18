// Parse and verify one compact JWS the way Envoy's jwt_verify_lib does:
// strict base64url, JSON header and payload, a supported `alg` (never
// `none`), a key whose type and curve belong to that alg (no algorithm
// confusion: an RSA key is never an HMAC secret), then the signature.
// Never throws on garbage: every failure is a status.
import { createHmac, timingSafeEqual, verify as cryptoVerify, constants } from "node:crypto";
import type { Jwk } from "./jwks.js";
import { JwtStatus, type JwtStatusText } from "./jwt-status.js";

export interface ParsedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  alg: string;
  kid?: string;
  iss?: string;
  sub?: string;
  aud: string[];
  exp?: number;
  nbf?: number;
  iat?: number;
  /** base64url of the payload as received (forward_payload_header). */
  payloadB64: string;
  signingInput: string;
  signature: Buffer;
}

interface AlgSpec {
  kty: Jwk["kty"];
  hash?: "sha256" | "sha384" | "sha512";
  pss?: boolean;
  crv?: string;
  /** ECDSA signatures are r||s of this many bytes (JWS, RFC 7518 §3.4). */
  sigLen?: number;
}

const ALGS: Record<string, AlgSpec> = {
  RS256: { kty: "RSA", hash: "sha256" },
  RS384: { kty: "RSA", hash: "sha384" },
  RS512: { kty: "RSA", hash: "sha512" },
  PS256: { kty: "RSA", hash: "sha256", pss: true },
  PS384: { kty: "RSA", hash: "sha384", pss: true },
  PS512: { kty: "RSA", hash: "sha512", pss: true },
  ES256: { kty: "EC", hash: "sha256", crv: "P-256", sigLen: 64 },
  ES384: { kty: "EC", hash: "sha384", crv: "P-384", sigLen: 96 },
  ES512: { kty: "EC", hash: "sha512", crv: "P-521", sigLen: 132 },
  EdDSA: { kty: "OKP", crv: "Ed25519" },
  HS256: { kty: "oct", hash: "sha256" },
  HS384: { kty: "oct", hash: "sha384" },
  HS512: { kty: "oct", hash: "sha512" },
};

const B64URL = /^[A-Za-z0-9_-]*$/;
const MAX_TOKEN = 64 * 1024;

function b64json(s: string): Record<string, unknown> | undefined | null {
  if (!B64URL.test(s)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function numericDate(v: unknown): number | undefined | false {
  if (v === undefined) return undefined;
  return typeof v === "number" && Number.isFinite(v) ? v : false;
}

export function parseJwt(token: string): ParsedJwt | JwtStatusText {
  if (token.length > MAX_TOKEN) return JwtStatus.BadFormat;
  const parts = token.split(".");
  if (parts.length !== 3) return JwtStatus.BadFormat;
  const [h, p, s] = parts;
  const header = b64json(h);
  if (header === undefined) return JwtStatus.HeaderBadBase64;
  if (header === null) return JwtStatus.HeaderBadJson;
  const alg = header.alg;
  if (typeof alg !== "string") return JwtStatus.HeaderBadAlg;
  if (!Object.hasOwn(ALGS, alg)) return JwtStatus.HeaderNotImplementedAlg;
  if (header.kid !== undefined && typeof header.kid !== "string") return JwtStatus.HeaderBadKid;
  const payload = b64json(p);
  if (payload === undefined) return JwtStatus.PayloadBadBase64;
  if (payload === null) return JwtStatus.PayloadBadJson;
  if (!B64URL.test(s) || s.length === 0) return JwtStatus.SignatureBadBase64;
  const { iss, sub, aud } = payload;
  if ((iss !== undefined && typeof iss !== "string") || (sub !== undefined && typeof sub !== "string")) return JwtStatus.PayloadBadClaim;
  let audList: string[];
  if (aud === undefined) audList = [];
  else if (typeof aud === "string") audList = [aud];
  else if (Array.isArray(aud) && aud.every((a) => typeof a === "string")) audList = aud as string[];
  else return JwtStatus.PayloadBadClaim;
  const exp = numericDate(payload.exp);
  const nbf = numericDate(payload.nbf);
  const iat = numericDate(payload.iat);
  if (exp === false || nbf === false || iat === false) return JwtStatus.PayloadBadClaim;
  return {
    header,
    payload,
    alg,
    kid: header.kid as string | undefined,
    iss: iss as string | undefined,
    sub: sub as string | undefined,
    aud: audList,
    exp,
    nbf,
    iat,
    payloadB64: p,
    signingInput: `${h}.${p}`,
    signature: Buffer.from(s, "base64url"),
  };
}

/** exp / nbf with Envoy's clock skew (clock_skew_seconds, default 60). */
export function checkTime(jwt: ParsedJwt, nowSec: number, skewSec: number, requireExp: boolean): JwtStatusText | undefined {
  if (jwt.exp === undefined) {
    if (requireExp) return JwtStatus.NoExpiration;
  } else if (nowSec > jwt.exp + skewSec) return JwtStatus.Expired;
  if (jwt.nbf !== undefined && nowSec + skewSec < jwt.nbf) return JwtStatus.NotYetValid;
  return undefined;
}

function verifyWith(spec: AlgSpec, key: Jwk, jwt: ParsedJwt): boolean {
  const data = Buffer.from(jwt.signingInput, "latin1");
  try {
    if (spec.kty === "oct") {
      const mac = createHmac(spec.hash!, key.key).update(data).digest();
      return mac.length === jwt.signature.length && timingSafeEqual(mac, jwt.signature);
    }
    if (spec.kty === "EC") {
      if (jwt.signature.length !== spec.sigLen) return false;
      return cryptoVerify(spec.hash!, data, { key: key.key, dsaEncoding: "ieee-p1363" }, jwt.signature);
    }
    if (spec.kty === "OKP") return cryptoVerify(null, data, key.key, jwt.signature);
    if (spec.pss) {
      const saltLength = spec.hash === "sha256" ? 32 : spec.hash === "sha384" ? 48 : 64;
      return cryptoVerify(spec.hash!, data, { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, jwt.signature);
    }
    return cryptoVerify(spec.hash!, data, { key: key.key, padding: constants.RSA_PKCS1_PADDING }, jwt.signature);
  } catch {
    return false;
  }
}

/** Verifies the signature against the keys that fit the token's alg (and kid, when it has one). */
export function verifySignature(jwt: ParsedJwt, keys: readonly Jwk[]): JwtStatusText | undefined {
  const spec = ALGS[jwt.alg];
  const candidates = keys.filter(
    (k) =>
      k.kty === spec.kty &&
      (spec.crv === undefined || k.crv === spec.crv) &&
      (k.alg === undefined || k.alg === jwt.alg) &&
      (jwt.kid === undefined || k.kid === undefined || k.kid === jwt.kid),
  );
  if (candidates.length === 0) return JwtStatus.KidAlgMismatch;
  for (const k of candidates) if (verifyWith(spec, k, jwt)) return undefined;
  return JwtStatus.VerificationFail;
}
