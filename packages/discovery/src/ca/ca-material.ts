// Loading and storing the CA's signing material. Two sources, as in istiod:
//  - plugged-in: a `cacerts` directory (ca-cert.pem, ca-key.pem, root-cert.pem,
//    cert-chain.pem), the local analogue of Secret `cacerts`; never written to;
//  - self-signed: `<ca-dir>/{ca-cert,ca-key,root-cert,cert-chain}.pem`, the local analogue
//    of Secret `istio-ca-secret`, created on first start and reloaded afterwards.
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as x509 from "./x509.js";
import { CaError } from "./ca-error.js";
import { crypto, generateCaKey, importPrivateKeyPem, keyMatchesCertificate, parseCertificate, splitPemCertificates, type CaKeyAlgorithm, type SigningAlgorithm } from "./pem.js";
import { createSelfSignedRoot } from "./self-signed-root.js";
import type { CryptoKey } from "./webcrypto-types.js";

export const CA_FILES = { cert: "ca-cert.pem", key: "ca-key.pem", root: "root-cert.pem", chain: "cert-chain.pem" } as const;

export interface SigningMaterial {
  source: "self-signed" | "plugged-in";
  /** Where the material was read from (for logs and errors). */
  dir: string;
  caCert: x509.X509Certificate;
  caCertPem: string;
  key: CryptoKey;
  /** Public half of `key` (needed to re-sign the self-signed root with the same key). */
  publicKey: x509.PublicKey;
  algorithm: SigningAlgorithm;
  keyPem: string;
  /** Certificates between the signing certificate and the root, signing certificate first; empty when self-signed. */
  intermediatesPem: string[];
  rootPem: string;
  root: x509.X509Certificate;
}

const sameCert = (a: x509.X509Certificate, b: x509.X509Certificate) => Buffer.compare(Buffer.from(a.rawData), Buffer.from(b.rawData)) === 0;

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CaError("BAD_CA_MATERIAL", `${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Writes atomically (temp file + rename) so a reader never sees half a PEM. */
export async function writeFileAtomic(path: string, data: string, mode = 0o644): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, path);
}

function isCa(cert: x509.X509Certificate): boolean {
  return cert.getExtension(x509.BasicConstraintsExtension)?.ca === true;
}

async function verifiedBy(child: x509.X509Certificate, parent: x509.X509Certificate, at: Date): Promise<boolean> {
  return child.verify({ publicKey: parent.publicKey, date: at }, crypto);
}

/** Reads and checks a plugged-in CA: key matches, chain links up to the root, nothing expired. */
export async function loadPluggedIn(dir: string, now: Date): Promise<SigningMaterial | undefined> {
  const certPath = join(dir, CA_FILES.cert);
  const keyPath = join(dir, CA_FILES.key);
  const [certPem, keyPem, rootPem, chainPem] = await Promise.all([certPath, keyPath, join(dir, CA_FILES.root), join(dir, CA_FILES.chain)].map(readText));
  if (certPem === undefined && keyPem === undefined) return undefined;
  for (const [p, v] of [[certPath, certPem], [keyPath, keyPem], [join(dir, CA_FILES.root), rootPem]] as const) {
    if (!v?.trim()) throw new CaError("BAD_CA_MATERIAL", `plugged-in CA in ${dir}: ${p} is missing or empty (cacerts needs ca-cert.pem, ca-key.pem, root-cert.pem and optionally cert-chain.pem)`);
  }
  const caCert = parseCertificate(certPem!, certPath);
  const root = parseCertificate(rootPem!, join(dir, CA_FILES.root));
  if (!isCa(caCert)) throw new CaError("BAD_CA_MATERIAL", `${certPath}: not a CA certificate (basicConstraints CA:TRUE missing)`);
  if (!keyMatchesCertificate(caCert, keyPem!)) throw new CaError("BAD_CA_MATERIAL", `${keyPath} does not match the public key of ${certPath}`);
  const imported = await importPrivateKeyPem(keyPem!, keyPath);

  // cert-chain.pem runs from ca-cert.pem up to (often including) the root; keep the part below the root.
  let chain = (chainPem ? splitPemCertificates(chainPem) : []).map((p) => new x509.X509Certificate(p)).filter((c) => !sameCert(c, root));
  if (chain.length === 0 || !sameCert(chain[0]!, caCert)) chain = [caCert, ...chain.filter((c) => !sameCert(c, caCert))];
  const path = [...chain, root];
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c.notAfter.getTime() <= now.getTime()) throw new CaError("BAD_CA_MATERIAL", `plugged-in CA in ${dir}: certificate ${c.subject} expired at ${c.notAfter.toISOString()}`);
    const parent = path[Math.min(i + 1, path.length - 1)]!;
    if (!(await verifiedBy(c, parent, now))) throw new CaError("BAD_CA_MATERIAL", `plugged-in CA in ${dir}: ${c.subject} is not signed by ${parent.subject} (check cert-chain.pem and root-cert.pem)`);
  }
  const selfSignedCa = sameCert(caCert, root);
  return {
    source: "plugged-in",
    dir,
    caCert,
    caCertPem: caCert.toString("pem") + "\n",
    key: imported.key,
    publicKey: caCert.publicKey,
    algorithm: imported.algorithm,
    keyPem: imported.pkcs8Pem,
    intermediatesPem: selfSignedCa ? [] : chain.map((c) => c.toString("pem") + "\n"),
    rootPem: root.toString("pem") + "\n",
    root,
  };
}

/** Reads `<dir>/ca-cert.pem` + `ca-key.pem` written by an earlier start, or undefined when absent. */
export async function loadSelfSigned(dir: string): Promise<SigningMaterial | undefined> {
  const certPath = join(dir, CA_FILES.cert);
  const keyPath = join(dir, CA_FILES.key);
  const [certPem, keyPem] = await Promise.all([readText(certPath), readText(keyPath)]);
  if (certPem === undefined && keyPem === undefined) return undefined;
  if (!certPem?.trim() || !keyPem?.trim()) throw new CaError("BAD_CA_MATERIAL", `${dir}: has only one of ${CA_FILES.cert} and ${CA_FILES.key}; restore the other or remove both to create a new root`);
  const caCert = parseCertificate(certPem, certPath);
  if (!keyMatchesCertificate(caCert, keyPem)) throw new CaError("BAD_CA_MATERIAL", `${keyPath} does not match the public key of ${certPath}`);
  if (!(await caCert.isSelfSigned(crypto))) throw new CaError("BAD_CA_MATERIAL", `${certPath} is not self-signed; put an intermediate CA in the cacerts directory instead`);
  const imported = await importPrivateKeyPem(keyPem, keyPath);
  return selfSignedMaterial(dir, caCert, imported.key, imported.algorithm, imported.pkcs8Pem);
}

function selfSignedMaterial(dir: string, caCert: x509.X509Certificate, key: CryptoKey, algorithm: SigningAlgorithm, keyPem: string): SigningMaterial {
  const pem = caCert.toString("pem") + "\n";
  return { source: "self-signed", dir, caCert, caCertPem: pem, key, publicKey: caCert.publicKey, algorithm, keyPem, intermediatesPem: [], rootPem: pem, root: caCert };
}

export interface CreateRootOptions {
  dir: string;
  org: string;
  ttlMs: number;
  keyAlgorithm: CaKeyAlgorithm;
  now: Date;
}

/** Generates a new key and self-signed root and stores them in `dir`. */
export async function createSelfSigned(o: CreateRootOptions): Promise<SigningMaterial> {
  const { keys, pkcs8Pem, algorithm } = await generateCaKey(o.keyAlgorithm);
  const cert = await createSelfSignedRoot({ org: o.org, notBefore: o.now, ttlMs: o.ttlMs, keys, algorithm });
  const imported = await importPrivateKeyPem(pkcs8Pem, "generated CA key");
  const material = selfSignedMaterial(o.dir, cert, imported.key, algorithm, pkcs8Pem);
  await storeSelfSigned(material);
  return material;
}

/** Re-signs the self-signed root with its own key and a fresh validity (Istio's root rotation with key reuse). */
export async function renewSelfSigned(m: SigningMaterial, ttlMs: number, now: Date): Promise<SigningMaterial> {
  const org = m.caCert.subjectName.getField("O")[0] ?? "cluster.local";
  const cert = await createSelfSignedRoot({ org, notBefore: now, ttlMs, keys: { publicKey: m.publicKey, privateKey: m.key }, algorithm: m.algorithm });
  const renewed = selfSignedMaterial(m.dir, cert, m.key, m.algorithm, m.keyPem);
  await storeSelfSigned(renewed);
  return renewed;
}

/** istio-ca-secret layout: for a self-signed root cert-chain.pem is empty and root-cert.pem is ca-cert.pem. */
async function storeSelfSigned(m: SigningMaterial): Promise<void> {
  await mkdir(m.dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(m.dir, CA_FILES.key), m.keyPem, 0o600);
  await writeFileAtomic(join(m.dir, CA_FILES.cert), m.caCertPem);
  await writeFileAtomic(join(m.dir, CA_FILES.chain), "");
  await writeFileAtomic(join(m.dir, CA_FILES.root), m.rootPem);
}

export const hasPluggedIn = (dir: string) => existsSync(join(dir, CA_FILES.cert)) || existsSync(join(dir, CA_FILES.key));
