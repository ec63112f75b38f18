// Test tokens: key pairs exported as JWKs and a compact-JWS signer.
import { constants, createHmac, generateKeyPairSync, sign, type KeyObject } from "node:crypto";

export interface TestKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

export function testKey(alg: "RS256" | "PS256" | "ES256" | "ES384" | "EdDSA", kid = alg.toLowerCase()): TestKey {
  const pair =
    alg === "ES256"
      ? generateKeyPairSync("ec", { namedCurve: "P-256" })
      : alg === "ES384"
        ? generateKeyPairSync("ec", { namedCurve: "P-384" })
        : alg === "EdDSA"
          ? generateKeyPairSync("ed25519")
          : generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { kid, alg, privateKey: pair.privateKey, jwk: { ...pair.publicKey.export({ format: "jwk" }), kid, use: "sig" } };
}

export function jwks(...keys: TestKey[]): string {
  return JSON.stringify({ keys: keys.map((k) => k.jwk) });
}

const b64 = (v: unknown): string => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

export function signJwt(key: TestKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const h = b64({ alg: key.alg, typ: "JWT", kid: key.kid, ...header });
  const p = b64(payload);
  const data = Buffer.from(`${h}.${p}`);
  let sig: Buffer;
  if (key.alg === "ES256" || key.alg === "ES384") sig = sign(key.alg === "ES256" ? "sha256" : "sha384", data, { key: key.privateKey, dsaEncoding: "ieee-p1363" });
  else if (key.alg === "PS256") sig = sign("sha256", data, { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  else if (key.alg === "EdDSA") sig = sign(null, data, key.privateKey);
  else sig = sign("sha256", data, key.privateKey);
  return `${h}.${p}.${sig.toString("base64url")}`;
}

/** `alg: none` with an empty signature, the classic bypass attempt. */
export function unsignedJwt(payload: Record<string, unknown>): string {
  return `${b64({ alg: "none", typ: "JWT" })}.${b64(payload)}.`;
}

/** HS256 "signed" with the given bytes as secret (algorithm-confusion attempts use a public key here). */
export function hmacJwt(secret: Buffer, payload: Record<string, unknown>, kid?: string): string {
  const h = b64({ alg: "HS256", typ: "JWT", ...(kid ? { kid } : {}) });
  const p = b64(payload);
  return `${h}.${p}.${createHmac("sha256", secret).update(`${h}.${p}`).digest("base64url")}`;
}

export const nowSec = (): number => Math.floor(Date.now() / 1000);
