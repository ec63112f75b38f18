// CreateCertificate over real TLS on loopback, called with @grpc/grpc-js (the same wire
// stack as Istio's grpc-go agent): identity from the token, never from the CSR.
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IstioCertificateRequestSchema, IstioCertificateResponseSchema, type IstioCertificateResponse } from "@weft/xds-api/gen/istio/v1/auth/ca_pb.js";
import { createCaServer, type CaServer } from "./ca-server.js";
import { createCertificateAuthority, type CertificateAuthority } from "./certificate-authority.js";
import { createLocalAuthenticator } from "./local-authenticator.js";
import { makeCsr, sans, silentLogger, verifies } from "./ca-test-util.js";

const SLEEP_TOKEN = "sleep-token-0123456789abcdefghijklmnopqrstuv";
const HTTPBIN_TOKEN = "httpbin-token-0123456789abcdefghijklmnopqrstu";

let dir: string;
let ca: CertificateAuthority;
let server: CaServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-ca-srv-"));
  await writeFile(
    join(dir, "workloads.json"),
    JSON.stringify({ [SLEEP_TOKEN]: { namespace: "default", serviceAccount: "sleep" }, [HTTPBIN_TOKEN]: { namespace: "default", serviceAccount: "httpbin" } }),
    { mode: 0o600 },
  );
  ca = await createCertificateAuthority({ caDir: dir, rootCheckIntervalMs: 0, logger: silentLogger });
  server = await createCaServer({ ca, authenticators: [createLocalAuthenticator({ credentialsFile: join(dir, "workloads.json"), logger: silentLogger })], addr: "127.0.0.1:0", logger: silentLogger });
});
afterAll(async () => {
  await server?.close();
  ca?.close();
  await rm(dir, { recursive: true, force: true });
});

function call(req: { csr: string; validityDuration?: bigint }, token?: string, servername = "istiod.istio-system.svc"): Promise<IstioCertificateResponse> {
  const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createSsl(Buffer.from(ca.rootCertPem())), { "grpc.ssl_target_name_override": servername });
  const md = new grpc.Metadata();
  if (token !== undefined) md.set("authorization", `Bearer ${token}`);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      "/istio.v1.auth.IstioCertificateService/CreateCertificate",
      (m: typeof req) => Buffer.from(toBinary(IstioCertificateRequestSchema, create(IstioCertificateRequestSchema, m))),
      (b: Buffer) => fromBinary(IstioCertificateResponseSchema, b),
      req,
      md,
      { deadline: Date.now() + 10_000 },
      (err, res) => {
        client.close();
        if (err) reject(err);
        else resolve(res!);
      },
    );
  });
}

describe("createCaServer()", () => {
  it("issues the caller's identity over TLS with a serving certificate from the same CA", async () => {
    const res = await call({ csr: (await makeCsr()).csrPem, validityDuration: 3600n }, SLEEP_TOKEN);
    expect(res.certChain).toHaveLength(2);
    expect(sans(res.certChain[0]!)).toEqual([{ type: "url", value: "spiffe://cluster.local/ns/default/sa/sleep" }]);
    expect(res.certChain[1]).toBe(ca.rootCertPem());
    expect(await verifies(server.servingCertPem(), ca.rootCertPem())).toBe(true);
    expect(sans(server.servingCertPem()).map((s) => s.value)).toEqual(expect.arrayContaining(["istiod.istio-system.svc", "istiod.istio-system.svc.cluster.local", "localhost", "127.0.0.1"]));
  });

  it("gives a CSR that asks for another identity the caller's own identity", async () => {
    const { csrPem } = await makeCsr("spiffe://cluster.local/ns/default/sa/httpbin", "CN=httpbin");
    const res = await call({ csr: csrPem }, SLEEP_TOKEN);
    expect(sans(res.certChain[0]!)).toEqual([{ type: "url", value: "spiffe://cluster.local/ns/default/sa/sleep" }]);
  });

  it.each([
    ["no token", undefined, /no credential/],
    ["an unknown token", "x".repeat(40), /^16 UNAUTHENTICATED: authentication failed$/],
    ["a non-bearer scheme", undefined, /expected 'Bearer <token>'/],
  ])("rejects %s with UNAUTHENTICATED", async (name, token, msg) => {
    const { csrPem } = await makeCsr();
    const err = (await (name === "a non-bearer scheme" ? callWithRawAuth(csrPem, `Basic ${SLEEP_TOKEN}`) : call({ csr: csrPem }, token)).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.message).toMatch(msg);
  });

  it("rejects a malformed CSR with INVALID_ARGUMENT naming the problem", async () => {
    const err = (await call({ csr: "not a csr" }, SLEEP_TOKEN).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/csr has no PEM 'CERTIFICATE REQUEST' block/);
  });

  it("honours validity_duration in seconds", async () => {
    const res = await call({ csr: (await makeCsr()).csrPem, validityDuration: 60n }, HTTPBIN_TOKEN);
    const text = openssl(res.certChain[0]!);
    const nb = Date.parse(/Not Before: (.*)/.exec(text)![1]!);
    const na = Date.parse(/Not After : (.*)/.exec(text)![1]!);
    expect(na - nb).toBe(120_000); // 60 s asked + the 60 s notBefore backdating
  });

  it("hands out a leaf that openssl shows like Istio's: URI SAN only, no subject, CA:FALSE", async () => {
    const res = await call({ csr: (await makeCsr()).csrPem }, HTTPBIN_TOKEN);
    const text = openssl(res.certChain[0]!);
    expect(text).toMatch(/Subject: *\n/);
    expect(text).toMatch(/X509v3 Subject Alternative Name: critical\s+URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/httpbin\s*\n/);
    expect(text).not.toMatch(/DNS:|IP Address:|email:/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(text).toMatch(/X509v3 Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/);
    expect(text).toMatch(/Issuer: O *= *cluster\.local/);
    // And openssl itself accepts the chain.
    const leafPath = join(dir, "leaf.pem");
    await writeFile(leafPath, res.certChain[0]!);
    expect(execFileSync("openssl", ["verify", "-CAfile", ca.rootCertPath, leafPath], { encoding: "utf8" })).toMatch(/OK/);
  });
});

function openssl(pem: string): string {
  return execFileSync("openssl", ["x509", "-noout", "-text"], { input: pem, encoding: "utf8" });
}

function callWithRawAuth(csr: string, authorization: string): Promise<IstioCertificateResponse> {
  const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createSsl(Buffer.from(ca.rootCertPem())), { "grpc.ssl_target_name_override": "istiod.istio-system.svc" });
  const md = new grpc.Metadata();
  md.set("authorization", authorization);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      "/istio.v1.auth.IstioCertificateService/CreateCertificate",
      (m: { csr: string }) => Buffer.from(toBinary(IstioCertificateRequestSchema, create(IstioCertificateRequestSchema, m))),
      (b: Buffer) => fromBinary(IstioCertificateResponseSchema, b),
      { csr },
      md,
      (err, res) => {
        client.close();
        if (err) reject(err);
        else resolve(res!);
      },
    );
  });
}

describe("createCaServer() serving certificate", () => {
  it("is re-issued under the renewed root when the self-signed root rotates, without closing the server", async () => {
    const d = await mkdtemp(join(tmpdir(), "weft-ca-rot-"));
    let t = Date.now();
    const c = await createCertificateAuthority({ caDir: d, keyAlgorithm: "ecdsa-p256", rootTtlMs: 10 * 24 * 3600_000, rootCheckIntervalMs: 0, now: () => t, logger: silentLogger });
    const s = await createCaServer({ ca: c, authenticators: [], addr: "127.0.0.1:0", logger: silentLogger });
    try {
      const before = s.servingCertPem();
      t += 9 * 24 * 3600_000;
      expect(await c.checkRootRotation()).toBe(true);
      const deadline = Date.now() + 5000;
      while (s.servingCertPem() === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(s.servingCertPem()).not.toBe(before);
      expect(await verifies(s.servingCertPem(), c.rootCertPem(), new Date(t))).toBe(true);
    } finally {
      await s.close();
      c.close();
      await rm(d, { recursive: true, force: true });
    }
  });
});
