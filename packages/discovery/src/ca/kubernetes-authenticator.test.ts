// Against a fake API server over TLS on loopback (no cluster here): the request shape and
// every way a TokenReview can say no.
import https from "node:https";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthenticationError } from "./authenticator.js";
import { createCertificateAuthority, type CertificateAuthority } from "./certificate-authority.js";
import { createKubernetesAuthenticator, serviceAccountOf } from "./kubernetes-authenticator.js";
import { silentLogger } from "./ca-test-util.js";
import { crypto } from "./pem.js";
import * as x509 from "./x509.js";
import type { CryptoKeyPair, EcdsaParams } from "./webcrypto-types.js";

let dir: string;
let ca: CertificateAuthority;
let api: https.Server;
let port: number;
const seen: { auth?: string; body: unknown }[] = [];
const reviews: Record<string, object> = {
  good: { authenticated: true, audiences: ["istio-ca"], user: { username: "system:serviceaccount:default:sleep" } },
  wrongAud: { authenticated: true, audiences: ["api"], user: { username: "system:serviceaccount:default:sleep" } },
  notSa: { authenticated: true, audiences: ["istio-ca"], user: { username: "alice" } },
  bad: { authenticated: false, error: "token expired" },
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-k8s-"));
  ca = await createCertificateAuthority({ caDir: dir, keyAlgorithm: "ecdsa-p256", rootCheckIntervalMs: 0, logger: silentLogger });
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams }, crypto);
  const chain = await ca.issueServingCertificate(csr.toString("pem"), ["127.0.0.1"], 3600_000);
  const key = x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY");
  api = https.createServer({ cert: chain[0], key }, (req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => {
      const body = JSON.parse(text) as { spec: { token: string } };
      seen.push({ auth: req.headers.authorization, body });
      if (req.url !== "/apis/authentication.k8s.io/v1/tokenreviews" || req.method !== "POST") return res.writeHead(404).end();
      if (body.spec.token === "forbidden") return res.writeHead(403).end('{"kind":"Status","reason":"Forbidden"}');
      res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ kind: "TokenReview", status: reviews[body.spec.token] ?? { authenticated: false } }));
    });
  });
  await new Promise<void>((r) => api.listen(0, "127.0.0.1", r));
  port = (api.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((r) => api?.close(r));
  ca?.close();
  await rm(dir, { recursive: true, force: true });
});

const auth = () => createKubernetesAuthenticator({ apiServer: `https://127.0.0.1:${port}`, caPem: ca.rootCertPem(), token: () => "istiod-token", logger: silentLogger });
const bearer = (t: string) => new Headers({ authorization: `Bearer ${t}` });

describe("createKubernetesAuthenticator()", () => {
  it("reviews the token with audience istio-ca and returns the service account", async () => {
    expect(await auth().authenticate(bearer("good"))).toEqual({ namespace: "default", serviceAccount: "sleep", authenticator: "kubernetes" });
    expect(seen.at(-1)).toEqual({
      auth: "Bearer istiod-token",
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token: "good", audiences: ["istio-ca"] } },
    });
  });

  it.each(["bad", "wrongAud", "notSa", "unknown"])("refuses the %s review as unauthenticated with no detail", async (token) => {
    const err = await auth().authenticate(bearer(token)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as Error).message).toBe("authentication failed");
  });

  it("reports an API server refusal as an error, not as a bad token", async () => {
    const err = await auth().authenticate(bearer("forbidden")).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(AuthenticationError);
    expect((err as Error).message).toMatch(/API server answered 403/);
  });

  it("says it needs a cluster when there is no API server to talk to", () => {
    const saved = process.env.KUBERNETES_SERVICE_HOST;
    delete process.env.KUBERNETES_SERVICE_HOST;
    try {
      expect(() => createKubernetesAuthenticator({ caPem: "x", token: () => "t", logger: silentLogger })).toThrow(/needs a cluster/);
    } finally {
      if (saved !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved;
    }
  });

  it.each([
    ["system:serviceaccount:ns:sa", { namespace: "ns", serviceAccount: "sa" }],
    ["system:serviceaccount:ns", undefined],
    ["system:node:n1", undefined],
  ])("serviceAccountOf(%s)", (u, want) => {
    expect(serviceAccountOf(u)).toEqual(want);
  });
});
