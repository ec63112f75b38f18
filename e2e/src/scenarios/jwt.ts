// End-user authentication at the ingress, as Istio's JWT tasks do it: a
// RequestAuthentication with the issuer's key set inline (the tasks fetch
// theirs from GitHub; this machine has no network), tokens signed here with a
// key made for the run, and an AuthorizationPolicy on request principals and
// a groups claim.
import { createSign, generateKeyPairSync, type KeyObject } from "node:crypto";
import { manifestFile } from "./manifest-file.js";

export const ISSUER = "testing@secure.istio.io";

export interface Issuer {
  /** The key set, as a RequestAuthentication's `jwks` holds it. */
  jwks: string;
  /** A signed RS256 token for these claims (iss, sub and exp filled in unless given). */
  token(claims?: Record<string, unknown>): string;
}

const b64url = (data: string | Buffer): string => Buffer.from(data).toString("base64url");

export function makeIssuer(): Issuer {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = "weft-e2e";
  const jwk = { ...(publicKey as KeyObject).export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };
  return {
    jwks: JSON.stringify({ keys: [jwk] }),
    token(claims = {}) {
      const header = b64url(JSON.stringify({ alg: "RS256", kid, typ: "JWT" }));
      const payload = b64url(JSON.stringify({ iss: ISSUER, sub: ISSUER, exp: Math.floor(Date.now() / 1000) + 3600, ...claims }));
      const signature = createSign("RSA-SHA256").update(`${header}.${payload}`).sign(privateKey);
      return `${header}.${payload}.${b64url(signature)}`;
    },
  };
}

/** A security.istio.io policy selecting the ingress gateway (in istio-system, as the tasks put it). */
function ingressPolicy(kind: string, name: string, rest: string): Promise<string> {
  return manifestFile(name, `apiVersion: security.istio.io/v1
kind: ${kind}
metadata:
  name: ${name}
  namespace: istio-system
spec:
  selector:
    matchLabels:
      istio: ingressgateway
${rest}`);
}

/** Istio's jwt-example, on the ingress gateway. */
export function requestAuthentication(issuer: Issuer): Promise<string> {
  return ingressPolicy("RequestAuthentication", "jwt-example", `  jwtRules:
  - issuer: "${ISSUER}"
    jwks: '${issuer.jwks}'
`);
}

/** Istio's require-jwt with the task's groups condition: a token from the issuer, in group1. */
export function requireJwt(): Promise<string> {
  return ingressPolicy("AuthorizationPolicy", "require-jwt", `  action: ALLOW
  rules:
  - from:
    - source:
        requestPrincipals: ["${ISSUER}/${ISSUER}"]
    when:
    - key: request.auth.claims[groups]
      values: ["group1"]
`);
}
