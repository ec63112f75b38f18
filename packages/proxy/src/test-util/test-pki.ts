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
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
