// A JSON Web Key Set turned into node:crypto keys once (when loaded or
// fetched), never per request. Keys we cannot use are skipped; a set with no
// usable key is an error, as in Envoy.
import { createPublicKey, createSecretKey, type KeyObject } from "node:crypto";

export interface Jwk {
  kid?: string;
  /** The key's own `alg`, when it pins one. */
  alg?: string;
  kty: "RSA" | "EC" | "OKP" | "oct";
  /** EC / OKP curve: P-256, P-384, P-521, Ed25519. */
  crv?: string;
  key: KeyObject;
}

export class JwksError extends Error {
  override readonly name = "JwksError";
}

const CURVES = new Set(["P-256", "P-384", "P-521", "Ed25519"]);
const MIN_RSA_BITS = 2048;

function isB64(v: unknown): v is string {
  return typeof v === "string" && v.length > 0 && /^[A-Za-z0-9_-]+$/.test(v);
}

export function parseJwks(text: string): Jwk[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new JwksError(`JWKS is not valid JSON: ${(err as Error).message}`);
  }
  if (doc === null || typeof doc !== "object") throw new JwksError("JWKS must be a JSON object");
  // A bare JWK is accepted as a set of one (Envoy does the same).
  const list = Array.isArray((doc as { keys?: unknown }).keys) ? ((doc as { keys: unknown[] }).keys) : [doc];
  const out: Jwk[] = [];
  for (const k of list) {
    const key = toJwk(k);
    if (key) out.push(key);
  }
  if (out.length === 0) throw new JwksError("JWKS has no usable key");
  return out;
}

function toJwk(k: unknown): Jwk | undefined {
  if (k === null || typeof k !== "object") return undefined;
  const j = k as Record<string, unknown>;
  const kid = typeof j.kid === "string" ? j.kid : undefined;
  const alg = typeof j.alg === "string" ? j.alg : undefined;
  // Signature keys only.
  if (j.use !== undefined && j.use !== "sig") return undefined;
  try {
    switch (j.kty) {
      case "RSA": {
        if (!isB64(j.n) || !isB64(j.e)) return undefined;
        const key = createPublicKey({ key: { kty: "RSA", n: j.n, e: j.e }, format: "jwk" });
        // Node accepts degenerate moduli; a key too short to be safe is not a key.
        if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) return undefined;
        return { kid, alg, kty: "RSA", key };
      }
      case "EC":
      case "OKP": {
        if (typeof j.crv !== "string" || !CURVES.has(j.crv) || !isB64(j.x)) return undefined;
        const jwk: Record<string, string> = { kty: j.kty, crv: j.crv, x: j.x };
        if (j.kty === "EC") {
          if (!isB64(j.y)) return undefined;
          jwk.y = j.y;
        }
        return { kid, alg, kty: j.kty, crv: j.crv, key: createPublicKey({ key: jwk, format: "jwk" }) };
      }
      case "oct":
        if (!isB64(j.k)) return undefined;
        return { kid, alg, kty: "oct", key: createSecretKey(Buffer.from(j.k, "base64url")) };
      default:
        return undefined;
    }
  } catch {
    // Not a valid key (bad modulus, point not on the curve…): skipped.
    return undefined;
  }
}
