import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as x509 from "./x509.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCertificateAuthority, type CertificateAuthorityOptions } from "./certificate-authority.js";
import { CaError } from "./ca-error.js";
import { makeCsr, sans, silentLogger, verifies } from "./ca-test-util.js";
import type { RsaHashedKeyAlgorithm } from "./webcrypto-types.js";

const DAY = 24 * 3600_000;
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-ca-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ca = (extra: Partial<CertificateAuthorityOptions> = {}) =>
  createCertificateAuthority({ caDir: dir, keyAlgorithm: "ecdsa-p256", rootCheckIntervalMs: 0, logger: silentLogger, ...extra });
const sleepId = { namespace: "default", serviceAccount: "sleep" };

describe("createCertificateAuthority() self-signed root", () => {
  it("generates an RSA 2048 root like Istio's (O=cluster.local, CA:TRUE, 10 years) and stores it in the istio-ca-secret layout", async () => {
    const c = await createCertificateAuthority({ caDir: dir, rootCheckIntervalMs: 0, logger: silentLogger });
    const root = new x509.X509Certificate(c.rootCertPem());
    expect(root.subject).toBe("O=cluster.local");
    expect(root.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(true);
    expect((root.publicKey.algorithm as RsaHashedKeyAlgorithm).modulusLength).toBe(2048);
    const years = (root.notAfter.getTime() - root.notBefore.getTime()) / (365 * DAY);
    expect(years).toBeCloseTo(10, 1);
    expect(await readFile(join(dir, "ca-cert.pem"), "utf8")).toBe(c.rootCertPem());
    expect(await readFile(join(dir, "root-cert.pem"), "utf8")).toBe(c.rootCertPem());
    expect(await readFile(join(dir, "cert-chain.pem"), "utf8")).toBe("");
    expect((await stat(join(dir, "ca-key.pem"))).mode & 0o777).toBe(0o600);
    expect(c.rootCertPath).toBe(join(dir, "root-cert.pem"));
    c.close();
  });

  it("reloads the same root on the next start instead of creating a new one", async () => {
    const a = await ca();
    const first = a.rootCertPem();
    a.close();
    const b = await ca();
    expect(b.rootCertPem()).toBe(first);
    expect(b.source).toBe("self-signed");
    b.close();
  });

  it("refuses a ca-dir with a key that does not match the certificate", async () => {
    (await ca()).close();
    const other = await mkdtemp(join(tmpdir(), "weft-ca-other-"));
    (await createCertificateAuthority({ caDir: other, keyAlgorithm: "ecdsa-p256", rootCheckIntervalMs: 0, logger: silentLogger })).close();
    await writeFile(join(dir, "ca-key.pem"), await readFile(join(other, "ca-key.pem")));
    await rm(other, { recursive: true });
    await expect(ca()).rejects.toThrow(/ca-key\.pem does not match the public key of .*ca-cert\.pem/);
  });

  it("renews the root at 80 % of its life with the same key, and old leaves still verify under the new root", async () => {
    let t = Date.parse("2026-01-01T00:00:00Z");
    const c = await ca({ rootTtlMs: 100 * DAY, now: () => t });
    const oldRoot = c.rootCertPem();
    const leaf = (await c.issueWorkloadCertificate(sleepId, { csr: (await makeCsr()).csrPem }))[0]!;
    const seen: string[] = [];
    c.onRootChange((r) => seen.push(r));

    t += 79 * DAY;
    expect(await c.checkRootRotation()).toBe(false);
    t += 2 * DAY;
    expect(await c.checkRootRotation()).toBe(true);

    const newRoot = c.rootCertPem();
    expect(newRoot).not.toBe(oldRoot);
    expect(seen).toEqual([newRoot]);
    const o = new x509.X509Certificate(oldRoot);
    const n = new x509.X509Certificate(newRoot);
    expect(Buffer.from(n.publicKey.rawData)).toEqual(Buffer.from(o.publicKey.rawData));
    expect(n.subject).toBe(o.subject);
    expect(n.notAfter.getTime()).toBe(t + 100 * DAY);
    expect(await readFile(join(dir, "root-cert.pem"), "utf8")).toBe(newRoot);
    expect(await verifies(leaf, newRoot, new Date(t - 80.5 * DAY))).toBe(true);
    c.close();
    // And the renewed root is what the next start loads.
    const again = await ca({ rootTtlMs: 100 * DAY, now: () => t });
    expect(again.rootCertPem()).toBe(newRoot);
    again.close();
  });
});

describe("createCertificateAuthority() plugged-in cacerts", () => {
  it("signs with the plugged-in intermediate and returns leaf, intermediate, root", async () => {
    // Build root + intermediate with the CA itself: a self-signed CA in another dir is the root,
    // and an intermediate is made by hand with @peculiar/x509.
    const rootDir = await mkdtemp(join(tmpdir(), "weft-root-"));
    const rootCa = await createCertificateAuthority({ caDir: rootDir, keyAlgorithm: "ecdsa-p256", rootCheckIntervalMs: 0, logger: silentLogger, trustDomain: "example.org" });
    const rootPem = rootCa.rootCertPem();
    const rootKeyPem = await readFile(join(rootDir, "ca-key.pem"), "utf8");
    const { makeIntermediate } = await import("./ca-test-fixtures.js");
    const inter = await makeIntermediate(rootPem, rootKeyPem);
    const cacerts = join(dir, "cacerts");
    await mkdir(cacerts);
    await writeFile(join(cacerts, "ca-cert.pem"), inter.certPem);
    await writeFile(join(cacerts, "ca-key.pem"), inter.keyPem);
    await writeFile(join(cacerts, "root-cert.pem"), rootPem);
    await writeFile(join(cacerts, "cert-chain.pem"), inter.certPem + rootPem);

    const c = await ca({ trustDomain: "example.org" });
    expect(c.source).toBe("plugged-in");
    expect(c.rootCertPem()).toBe(rootPem);
    expect(await readFile(join(dir, "root-cert.pem"), "utf8")).toBe(rootPem);
    const chain = await c.issueWorkloadCertificate(sleepId, { csr: (await makeCsr()).csrPem });
    expect(chain).toHaveLength(3);
    expect(chain[1]).toBe(inter.certPem);
    expect(chain[2]).toBe(rootPem);
    expect(await verifies(chain[0]!, inter.certPem)).toBe(true);
    expect(await verifies(inter.certPem, rootPem)).toBe(true);
    expect(sans(chain[0]!)).toEqual([{ type: "url", value: "spiffe://example.org/ns/default/sa/sleep" }]);
    expect(await c.checkRootRotation()).toBe(false);
    c.close();
    rootCa.close();
    await rm(rootDir, { recursive: true });
  });

  it("names the missing file when cacerts is incomplete", async () => {
    await mkdir(join(dir, "cacerts"));
    await writeFile(join(dir, "cacerts", "ca-cert.pem"), "x");
    await expect(ca()).rejects.toThrow(/ca-key\.pem is missing or empty/);
  });
});

describe("issueWorkloadCertificate()", () => {
  it("puts exactly one URI SAN from the caller in the leaf, ignoring the CSR's subject and SANs", async () => {
    const c = await ca();
    const { csrPem } = await makeCsr("spiffe://cluster.local/ns/istio-system/sa/istiod-admin", "CN=admin");
    const [leaf, root] = await c.issueWorkloadCertificate(sleepId, { csr: csrPem });
    const cert = new x509.X509Certificate(leaf!);
    expect(sans(leaf!)).toEqual([{ type: "url", value: "spiffe://cluster.local/ns/default/sa/sleep" }]);
    expect(cert.getExtension(x509.SubjectAlternativeNameExtension)?.critical).toBe(true);
    expect(cert.subject).toBe("");
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    const ku = cert.getExtension(x509.KeyUsagesExtension)!;
    expect(ku.usages).toBe(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
    expect(root).toBe(c.rootCertPem());
    expect(await verifies(leaf!, root!)).toBe(true);
    c.close();
  });

  it.each([
    ["no TTL → 24 h default", undefined, 24 * 3600_000],
    ["a shorter TTL is honoured", 60_000, 60_000],
    ["a longer TTL is capped at the max", 365 * DAY, 90 * DAY],
  ])("%s", async (_n, ttlMs, expected) => {
    const t = Date.parse("2026-03-01T00:00:00Z");
    const c = await ca({ now: () => t });
    const [leaf] = await c.issueWorkloadCertificate(sleepId, { csr: (await makeCsr()).csrPem, ...(ttlMs ? { ttlMs } : {}) });
    const cert = new x509.X509Certificate(leaf!);
    expect(cert.notAfter.getTime() - t).toBe(expected);
    expect(cert.notBefore.getTime()).toBe(t - 60_000);
    c.close();
  });

  it.each([
    ["an empty string", "", /csr is empty/],
    ["not PEM", "hello", /no PEM 'CERTIFICATE REQUEST' block/],
    ["garbage inside PEM", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", /not a valid PKCS#10 request/],
  ])("rejects %s as INVALID_CSR", async (_n, csr, msg) => {
    const c = await ca();
    const err = await c.issueWorkloadCertificate(sleepId, { csr }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaError);
    expect((err as CaError).code).toBe("INVALID_CSR");
    expect((err as Error).message).toMatch(msg);
    c.close();
  });

  it("rejects a CSR whose signature does not verify", async () => {
    const c = await ca();
    const good = new x509.Pkcs10CertificateRequest((await makeCsr()).csrPem);
    const der = new Uint8Array(good.rawData);
    der[der.length - 5]! ^= 0xff; // flip a bit in the signature
    const pem = x509.PemConverter.encode(der.buffer, "CERTIFICATE REQUEST");
    await expect(c.issueWorkloadCertificate(sleepId, { csr: pem })).rejects.toMatchObject({ code: "INVALID_CSR" });
    c.close();
  });

  it("refuses identities that cannot be a SPIFFE path segment", async () => {
    const c = await ca();
    const { csrPem } = await makeCsr();
    await expect(c.issueWorkloadCertificate({ namespace: "a/b", serviceAccount: "x" }, { csr: csrPem })).rejects.toMatchObject({ code: "INVALID_IDENTITY" });
    await expect(c.issueWorkloadCertificate({ namespace: "ns", serviceAccount: "x\u0000y" }, { csr: csrPem })).rejects.toMatchObject({ code: "INVALID_IDENTITY" });
    c.close();
  });
});
