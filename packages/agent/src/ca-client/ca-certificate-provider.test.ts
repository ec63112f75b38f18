// The provider against a fake CA (a local root signing with @peculiar/x509) and manual
// timers: rotation at half-life with a fresh key, retries keep serving, root changes.
import { webcrypto } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCaCertificateProvider, type Timers } from "./ca-certificate-provider.js";
import type { Crypto, CryptoKeyPair, EcdsaParams } from "../test-util/webcrypto-types.js";
import * as x509 from "../test-util/x509.js";

const crypto = webcrypto as unknown as Crypto;
const ALG = { name: "ECDSA", hash: "SHA-256" } as EcdsaParams;
const log = pino({ level: "silent" });
const ID = "spiffe://cluster.local/ns/default/sa/sleep";

async function fakeCa() {
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const root = await x509.X509CertificateGenerator.createSelfSigned({ name: "O=cluster.local", keys, signingAlgorithm: ALG, extensions: [new x509.BasicConstraintsExtension(true, undefined, true)] }, crypto);
  return { keys, rootPem: root.toString("pem") + "\n" };
}

class ManualTimers implements Timers {
  pending = new Map<number, { fn: () => void; ms: number }>();
  private id = 0;
  setTimeout(fn: () => void, ms: number) {
    this.pending.set(++this.id, { fn, ms });
    return this.id;
  }
  clearTimeout(h: unknown) {
    this.pending.delete(h as number);
  }
  /** The pending timer with the given delay predicate. */
  find(pred: (ms: number) => boolean) {
    return [...this.pending.entries()].find(([, t]) => pred(t.ms));
  }
  fire(id: number) {
    const t = this.pending.get(id)!;
    this.pending.delete(id);
    t.fn();
  }
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-cap-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("createCaCertificateProvider()", () => {
  it("serves the CA's certificate, renews a 1-minute certificate at ~50 % with a new key, and notifies", async () => {
    const ca = await fakeCa();
    await writeFile(join(dir, "root.pem"), ca.rootPem);
    let t = Date.parse("2026-05-01T00:00:00Z");
    const csrs: string[] = [];
    const client = {
      async createCertificate(csrPem: string, ttlSeconds: number) {
        csrs.push(csrPem);
        const csr = new x509.Pkcs10CertificateRequest(csrPem);
        const leaf = await x509.X509CertificateGenerator.create(
          { subject: [], issuer: "O=cluster.local", notBefore: new Date(t), notAfter: new Date(t + ttlSeconds * 1000), publicKey: csr.publicKey, signingKey: ca.keys.privateKey, signingAlgorithm: ALG },
          crypto,
        );
        return [leaf.toString("pem"), ca.rootPem];
      },
    };
    const timers = new ManualTimers();
    const p = createCaCertificateProvider({ client, spiffeId: ID, rootCertPath: join(dir, "root.pem"), ttlSeconds: 60, now: () => t, random: () => 0.4, timers, rootPollMs: 10_000, logger: log });
    let changes = 0;
    p.onChange(() => changes++);
    const first = await p.ready();
    expect(first.rootCert).toBe(ca.rootPem);
    expect(first.certChain).not.toContain(ca.rootPem.trim()); // root goes out as ROOTCA only
    expect(first.privateKey).toMatch(/BEGIN PRIVATE KEY/);
    expect(changes).toBe(1);
    // The CSR carries our SPIFFE ID as its only SAN.
    const csr = new x509.Pkcs10CertificateRequest(csrs[0]!);
    expect((csr.getExtension("2.5.29.17") as x509.SubjectAlternativeNameExtension).names.toJSON()).toEqual([{ type: "url", value: ID }]);
    expect((csr.publicKey.algorithm as { namedCurve?: string }).namedCurve).toBe("P-256");

    const rotation = timers.find((ms) => ms !== 10_000)!;
    expect(rotation[1].ms).toBe(30_000);
    expect(p.nextRotationAt()).toBe(t + 30_000);
    t += 30_000;
    timers.fire(rotation[0]);
    await until(() => p.issued() === 2);
    expect(changes).toBe(2);
    const second = p.current()!;
    expect(second.privateKey).not.toBe(first.privateKey);
    expect(second.certChain).not.toBe(first.certChain);
    p.close();
  });

  it("keeps serving the last certificate and retries with backoff when the CA fails", async () => {
    const ca = await fakeCa();
    await writeFile(join(dir, "root.pem"), ca.rootPem);
    let fail = true;
    let calls = 0;
    const client = {
      async createCertificate(csrPem: string) {
        calls++;
        if (fail) throw new Error("unavailable");
        const csr = new x509.Pkcs10CertificateRequest(csrPem);
        const leaf = await x509.X509CertificateGenerator.create(
          { subject: [], issuer: "O=cluster.local", notBefore: new Date(), notAfter: new Date(Date.now() + 3600_000), publicKey: csr.publicKey, signingKey: ca.keys.privateKey, signingAlgorithm: ALG },
          crypto,
        );
        return [leaf.toString("pem"), ca.rootPem];
      },
    };
    const timers = new ManualTimers();
    const p = createCaCertificateProvider({ client, spiffeId: ID, rootCertPath: join(dir, "root.pem"), timers, retryMs: 100, random: () => 0.5, rootPollMs: 10_000, logger: log });
    await until(() => timers.find((ms) => ms === 100) !== undefined);
    expect(p.current()).toBeUndefined();
    expect(p.lastError()).toBe("unavailable");
    timers.fire(timers.find((ms) => ms === 100)![0]);
    await until(() => timers.find((ms) => ms === 200) !== undefined);
    fail = false;
    timers.fire(timers.find((ms) => ms === 200)![0]);
    await p.ready();
    expect(calls).toBe(3);
    expect(p.lastError()).toBeUndefined();
    const served = p.current();
    // A failed renewal leaves the certificate in place.
    fail = true;
    timers.fire(timers.find((ms) => ms !== 10_000)![0]);
    await until(() => timers.find((ms) => ms === 100) !== undefined);
    expect(p.current()).toBe(served);
    p.close();
  });

  it("waits for a root file that does not exist yet by looking again every 500 ms, without backing off", async () => {
    const ca = await fakeCa();
    let calls = 0;
    const client = {
      async createCertificate(csrPem: string) {
        calls++;
        const csr = new x509.Pkcs10CertificateRequest(csrPem);
        const leaf = await x509.X509CertificateGenerator.create({ subject: [], issuer: "O=cluster.local", publicKey: csr.publicKey, signingKey: ca.keys.privateKey, signingAlgorithm: ALG }, crypto);
        return [leaf.toString("pem"), ca.rootPem];
      },
    };
    const timers = new ManualTimers();
    const root = join(dir, "late-root.pem");
    const p = createCaCertificateProvider({ client, spiffeId: ID, rootCertPath: root, timers, retryMs: 2000, rootPollMs: 10_000, logger: log });
    for (let i = 0; i < 3; i++) {
      await until(() => timers.find((ms) => ms === 500) !== undefined);
      expect(p.lastError()).toBe(`mesh root certificate (WEFT_CA_ROOT_CERT) ${root}: ENOENT`);
      timers.fire(timers.find((ms) => ms === 500)![0]);
    }
    expect(calls).toBe(0); // the CA is not bothered until the root is there
    await writeFile(root, ca.rootPem);
    await until(() => timers.find((ms) => ms === 500) !== undefined);
    timers.fire(timers.find((ms) => ms === 500)![0]);
    await p.ready();
    expect(calls).toBe(1);
    p.close();
  });

  it("pushes a changed root file as a change", async () => {
    const ca = await fakeCa();
    await writeFile(join(dir, "root.pem"), ca.rootPem);
    const client = {
      async createCertificate(csrPem: string) {
        const csr = new x509.Pkcs10CertificateRequest(csrPem);
        const leaf = await x509.X509CertificateGenerator.create({ subject: [], issuer: "O=cluster.local", publicKey: csr.publicKey, signingKey: ca.keys.privateKey, signingAlgorithm: ALG }, crypto);
        return [leaf.toString("pem"), ca.rootPem];
      },
    };
    const timers = new ManualTimers();
    const p = createCaCertificateProvider({ client, spiffeId: ID, rootCertPath: join(dir, "root.pem"), timers, rootPollMs: 10_000, logger: log });
    await p.ready();
    let changes = 0;
    p.onChange(() => changes++);
    const other = await fakeCa();
    await writeFile(join(dir, "root.pem"), ca.rootPem + other.rootPem);
    timers.fire(timers.find((ms) => ms === 10_000)![0]);
    await until(() => changes === 1);
    expect(p.current()!.rootCert).toBe(ca.rootPem + other.rootPem);
    p.close();
  });
});
