// Certificates for TLS tests, made by the openssl CLI: a root CA per trust
// domain and leaves with the shapes Istio issues (empty subject, one SPIFFE
// URI SAN, CA=false) or deliberately bad ones (expired, CA=true, two URI SANs,
// a NUL inside the SAN, another root).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCa {
  certPem: string;
  keyPath: string;
  certPath: string;
}

export interface TestLeaf {
  certPem: string;
  keyPem: string;
  certPath: string;
  keyPath: string;
}

export interface LeafOptions {
  uris?: string[];
  dns?: string[];
  /** basicConstraints CA:TRUE on the leaf. */
  ca?: boolean;
  /** Validity in days; negative makes an already expired certificate. */
  days?: number;
  /** Raw DER (hex) of the subjectAltName extension value, for SANs openssl's syntax cannot express. */
  sanDerHex?: string;
  /** RFC 2253-ish subject for openssl -subj, default empty (as Istio's workload certs). */
  subject?: string;
}

export interface TestPki {
  dir: string;
  ca(name: string): TestCa;
  leaf(ca: TestCa, o: LeafOptions): TestLeaf;
  /** A CA certificate signed by `parent` (an intermediate CA). */
  intermediate(parent: TestCa, name: string): TestCa;
  /** A PEM CRL issued by `ca` (valid for a day) listing `revoked`, made by `openssl ca -revoke` / `-gencrl`. */
  crl(ca: TestCa, revoked: TestLeaf[]): string;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** DER of a GeneralNames SEQUENCE with one uniformResourceIdentifier holding `uri` verbatim (NULs included). */
export function uriSanDerHex(uri: string): string {
  const v = Buffer.from(uri, "latin1");
  if (v.length > 120) throw new Error("test URI too long for short-form DER");
  const gn = Buffer.concat([Buffer.from([0x86, v.length]), v]);
  return Buffer.concat([Buffer.from([0x30, gn.length]), gn]).toString("hex");
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "weft-pki-"));
  let n = 0;
  return {
    dir,
    ca(name) {
      const keyPath = join(dir, `${name}-ca.key`);
      const certPath = join(dir, `${name}-ca.pem`);
      openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyPath, "-out", certPath, "-days", "3", "-subj", `/O=${name}`], dir);
      return { certPem: readFileSync(certPath, "utf8"), keyPath, certPath };
    },
    leaf(ca, o) {
      const id = `leaf${++n}`;
      const keyPath = join(dir, `${id}.key`);
      const csr = join(dir, `${id}.csr`);
      const certPath = join(dir, `${id}.pem`);
      const ext = join(dir, `${id}.ext`);
      openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyPath, "-out", csr, "-subj", o.subject ?? "/"], dir);
      const lines = [`basicConstraints=critical,CA:${o.ca ? "TRUE" : "FALSE"}`, "keyUsage=critical,digitalSignature,keyEncipherment" + (o.ca ? ",keyCertSign" : ""), "extendedKeyUsage=serverAuth,clientAuth"];
      if (o.sanDerHex) lines.push(`subjectAltName=DER:${o.sanDerHex}`);
      else {
        const sans = [...(o.uris ?? []).map((u) => `URI:${u}`), ...(o.dns ?? []).map((d) => `DNS:${d}`)];
        if (sans.length) lines.push(`subjectAltName=critical,${sans.join(",")}`);
      }
      writeFileSync(ext, lines.join("\n") + "\n");
      openssl(["x509", "-req", "-in", csr, "-CA", ca.certPath, "-CAkey", ca.keyPath, "-CAcreateserial", "-days", String(o.days ?? 1), "-extfile", ext, "-out", certPath], dir);
      return { certPem: readFileSync(certPath, "utf8"), keyPem: readFileSync(keyPath, "utf8"), certPath, keyPath };
    },
    intermediate(parent, name) {
      const keyPath = join(dir, `${name}-ca.key`);
      const csr = join(dir, `${name}-ca.csr`);
      const certPath = join(dir, `${name}-ca.pem`);
      const ext = join(dir, `${name}-ca.ext`);
      openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyPath, "-out", csr, "-subj", `/O=${name}`], dir);
      writeFileSync(ext, "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n");
      openssl(["x509", "-req", "-in", csr, "-CA", parent.certPath, "-CAkey", parent.keyPath, "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", certPath], dir);
      return { certPem: readFileSync(certPath, "utf8"), keyPath, certPath };
    },
    crl(ca, revoked) {
      const db = mkdtempSync(join(dir, "crl-"));
      writeFileSync(join(db, "index.txt"), "");
      writeFileSync(join(db, "ca.cnf"), "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\ndefault_md = sha256\ndefault_crl_days = 1\n");
      const ca_ = ["-config", "ca.cnf", "-keyfile", ca.keyPath, "-cert", ca.certPath];
      for (const leaf of revoked) openssl(["ca", ...ca_, "-revoke", leaf.certPath], db);
      openssl(["ca", ...ca_, "-gencrl", "-out", "crl.pem"], db);
      return readFileSync(join(db, "crl.pem"), "utf8");
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
