import { describe, expect, it } from "vitest";
import { hmacJwt, jwks, nowSec, signJwt, testKey, unsignedJwt } from "../../test-util/jwt.js";
import { parseJwks } from "./jwks.js";
import { checkTime, parseJwt, verifySignature, type ParsedJwt } from "./jwt-verify.js";
import { JwtStatus } from "./jwt-status.js";

const rs = testKey("RS256");
const ps = testKey("PS256");
const es = testKey("ES256");
const es384 = testKey("ES384");
const ed = testKey("EdDSA");
const keys = parseJwks(jwks(rs, ps, es, es384, ed));
const claims = { iss: "https://issuer.example", sub: "alice", aud: "svc", exp: nowSec() + 300 };

function verify(token: string) {
  const j = parseJwt(token);
  if (typeof j === "string") return j;
  return verifySignature(j, keys) ?? "ok";
}

describe("parseJwt() / verifySignature()", () => {
  it.each([rs, ps, es, es384, ed])("accepts a token signed with $alg", (k) => {
    expect(verify(signJwt(k, claims))).toBe("ok");
  });

  it("rejects a wrong signature and a token signed by a key not in the set", () => {
    const t = signJwt(rs, claims);
    const other = testKey("RS256", "rs256");
    expect(verify(signJwt(other, claims))).toBe(JwtStatus.VerificationFail);
    const [h, p] = t.split(".");
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: "mallory" })).toString("base64url")}.${t.split(".")[2]}`;
    expect(verify(tampered)).toBe(JwtStatus.VerificationFail);
    expect(verify(`${h}.${p}.${"A".repeat(342)}`)).toBe(JwtStatus.VerificationFail);
  });

  it("rejects alg none, unknown algs and algorithm confusion (HS256 with the RSA public key as secret)", () => {
    expect(verify(unsignedJwt(claims))).toBe(JwtStatus.HeaderNotImplementedAlg);
    expect(verify(signJwt(rs, claims, { alg: "RS1" }))).toBe(JwtStatus.HeaderNotImplementedAlg);
    const pem = keys.find((k) => k.kty === "RSA")!.key.export({ type: "spki", format: "pem" }) as string;
    expect(verify(hmacJwt(Buffer.from(pem), claims, "rs256"))).toBe(JwtStatus.KidAlgMismatch);
    expect(verify(hmacJwt(Buffer.from(pem), claims))).toBe(JwtStatus.KidAlgMismatch);
    // An ES256 header over an RSA signature, and an ES256 token whose kid names the RSA key.
    expect(verify(signJwt(rs, claims, { alg: "ES256", kid: "rs256" }))).not.toBe("ok");
  });

  it("selects keys by kid and curve", () => {
    // A kid that no key carries: only keys without a kid could verify it (Envoy).
    expect(verify(signJwt(es, claims, { kid: "nope" }))).toBe(JwtStatus.KidAlgMismatch);
    expect(verify(signJwt(es, claims, { kid: undefined }))).toBe("ok");
    expect(verify(signJwt(es384, claims, { alg: "ES256", kid: "es384" }))).not.toBe("ok");
  });

  it.each([
    ["", JwtStatus.BadFormat],
    ["abc", JwtStatus.BadFormat],
    ["a.b", JwtStatus.BadFormat],
    ["a.b.c.d", JwtStatus.BadFormat],
    ["!!!.e30.sig", JwtStatus.HeaderBadBase64],
    [`${Buffer.from("not json").toString("base64url")}.e30.c2ln`, JwtStatus.HeaderBadJson],
    [`${Buffer.from("[1]").toString("base64url")}.e30.c2ln`, JwtStatus.HeaderBadJson],
    [`${Buffer.from('{"alg":5}').toString("base64url")}.e30.c2ln`, JwtStatus.HeaderBadAlg],
    [`${Buffer.from('{"alg":"RS256"}').toString("base64url")}.%%%.c2ln`, JwtStatus.PayloadBadBase64],
    [`${Buffer.from('{"alg":"RS256"}').toString("base64url")}.${Buffer.from("{").toString("base64url")}.c2ln`, JwtStatus.PayloadBadJson],
    [`${Buffer.from('{"alg":"RS256"}').toString("base64url")}.e30.`, JwtStatus.SignatureBadBase64],
    [`${Buffer.from('{"alg":"RS256"}').toString("base64url")}.${Buffer.from('{"exp":"soon"}').toString("base64url")}.c2ln`, JwtStatus.PayloadBadClaim],
    [`${Buffer.from('{"alg":"RS256","kid":7}').toString("base64url")}.e30.c2ln`, JwtStatus.HeaderBadKid],
  ])("garbage %j → %s", (token, status) => {
    expect(verify(token)).toBe(status);
  });

  it("never throws on random bytes", () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const alphabet = "ABCxyz019-_.=+/ \u0000é{}\"";
    for (let i = 0; i < 2000; i++) {
      let t = "";
      const n = Math.floor(rnd() * 60);
      for (let j = 0; j < n; j++) t += alphabet[Math.floor(rnd() * alphabet.length)];
      expect(() => verify(t)).not.toThrow();
    }
  });
});

describe("checkTime()", () => {
  const jwt = (c: Record<string, unknown>) => parseJwt(signJwt(rs, c)) as ParsedJwt;
  const now = 1_700_000_000;
  it("applies the clock skew to exp and nbf", () => {
    expect(checkTime(jwt({ exp: now - 59 }), now, 60, false)).toBeUndefined();
    expect(checkTime(jwt({ exp: now - 61 }), now, 60, false)).toBe(JwtStatus.Expired);
    expect(checkTime(jwt({ nbf: now + 59 }), now, 60, false)).toBeUndefined();
    expect(checkTime(jwt({ nbf: now + 61 }), now, 60, false)).toBe(JwtStatus.NotYetValid);
    expect(checkTime(jwt({}), now, 60, true)).toBe(JwtStatus.NoExpiration);
    expect(checkTime(jwt({}), now, 60, false)).toBeUndefined();
  });
});

describe("parseJwks()", () => {
  it("skips unusable keys and rejects a set with none", () => {
    expect(parseJwks(JSON.stringify({ keys: [{ kty: "RSA", n: "!!", e: "AQAB" }, rs.jwk] }))).toHaveLength(1);
    expect(() => parseJwks("{")).toThrow(/not valid JSON/);
    expect(() => parseJwks(JSON.stringify({ keys: [{ kty: "XX" }] }))).toThrow(/no usable key/);
    expect(() => parseJwks(JSON.stringify({ keys: [{ ...rs.jwk, use: "enc" }] }))).toThrow(/no usable key/);
  });
});
