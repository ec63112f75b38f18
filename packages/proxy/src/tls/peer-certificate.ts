// What Weft needs to know about a peer's leaf certificate, read from its DER:
// the subject alternative names exactly as encoded (so a NUL inside a SAN is
// seen, not hidden by a string conversion), the CA flag, the validity window,
// the SHA-256 of the DER (XFCC Hash=) and the subject in RFC 2253 form.
import { createHash, X509Certificate } from "node:crypto";

export type SanType = "DNS" | "URI" | "EMAIL" | "IP_ADDRESS" | "OTHER_NAME";

export interface SanEntry {
  type: SanType;
  /** The value as a string (latin1 for IA5 strings, dotted/colon form for IPs). */
  value: string;
  /** True when the encoded value holds a NUL byte. */
  hasNul: boolean;
}

export interface PeerCertificate {
  der: Buffer;
  sans: SanEntry[];
  uriSans: string[];
  dnsSans: string[];
  isCa: boolean;
  notBefore: Date;
  notAfter: Date;
  sha256Hex: string;
  /** RFC 2253 (most specific RDN first, comma separated), "" for an empty subject. */
  subject: string;
  pem: string;
  x509: X509Certificate;
  /** DER of the issuer Name, the serial's INTEGER content and the SubjectPublicKeyInfo (views into `der`). */
  issuerDer: Buffer;
  serial: Buffer;
  spkiDer: Buffer;
}

export interface Tlv {
  tag: number;
  /** Where the tag byte is. */
  head: number;
  start: number; // content start
  end: number; // content end
}

export function readTlv(b: Buffer, p: number, limit: number): Tlv {
  if (p + 2 > limit) throw new Error("truncated DER");
  const tag = b[p];
  let len = b[p + 1];
  let q = p + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || q + n > limit) throw new Error("bad DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[q + i];
    q += n;
  }
  if (q + len > limit) throw new Error("DER value overruns its container");
  return { tag, head: p, start: q, end: q + len };
}

export function children(b: Buffer, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = t.start; p < t.end; ) {
    const c = readTlv(b, p, t.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

const OID_SAN = "551d11"; // 2.5.29.17
const OID_BASIC_CONSTRAINTS = "551d13"; // 2.5.29.19

function ipString(v: Buffer): string {
  if (v.length === 4) return [...v].join(".");
  if (v.length === 16) {
    const parts: string[] = [];
    for (let i = 0; i < 16; i += 2) parts.push(v.readUInt16BE(i).toString(16));
    return parts.join(":");
  }
  return v.toString("hex");
}

/** The extensions of a certificate as OID hex → value bytes. */
function extensionsOf(der: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const cert = readTlv(der, 0, der.length);
  const tbs = children(der, cert)[0];
  if (!tbs) return out;
  for (const f of children(der, tbs)) {
    if (f.tag !== 0xa3) continue; // [3] EXPLICIT Extensions
    const seq = readTlv(der, f.start, f.end);
    for (const ext of children(der, seq)) {
      const parts = children(der, ext);
      if (parts.length < 2 || parts[0].tag !== 0x06) continue;
      const oid = der.toString("hex", parts[0].start, parts[0].end);
      const value = parts[parts.length - 1];
      out.set(oid, der.subarray(value.start, value.end));
    }
  }
  return out;
}

export function parseSans(value: Buffer): SanEntry[] {
  const out: SanEntry[] = [];
  const seq = readTlv(value, 0, value.length);
  for (const g of children(value, seq)) {
    const v = value.subarray(g.start, g.end);
    const hasNul = v.includes(0);
    switch (g.tag) {
      case 0x81: out.push({ type: "EMAIL", value: v.toString("latin1"), hasNul }); break;
      case 0x82: out.push({ type: "DNS", value: v.toString("latin1"), hasNul }); break;
      case 0x86: out.push({ type: "URI", value: v.toString("latin1"), hasNul }); break;
      case 0x87: out.push({ type: "IP_ADDRESS", value: ipString(v), hasNul: false }); break;
      case 0xa0: out.push({ type: "OTHER_NAME", value: v.toString("hex"), hasNul: false }); break;
      default: break; // directoryName, x400Address, registeredID… are never matched
    }
  }
  return out;
}

function basicConstraintsCa(value: Buffer | undefined): boolean {
  if (!value) return false;
  const seq = readTlv(value, 0, value.length);
  const first = children(value, seq)[0];
  return !!first && first.tag === 0x01 && value[first.start] !== 0;
}

/** RFC 2253 subject: Node prints one RDN per line, least specific first. */
function rfc2253(subject: string): string {
  if (!subject) return "";
  return subject
    .split("\n")
    .filter(Boolean)
    .reverse()
    .map((rdn) => rdn.replace(/([,+"\\<>;])/g, "\\$1"))
    .join(",");
}

/** TBSCertificate's serialNumber, issuer and subjectPublicKeyInfo (RFC 5280 §4.1), as views into `der`. */
export function tbsParts(der: Buffer): { serial: Buffer; issuerDer: Buffer; spkiDer: Buffer } {
  const cert = readTlv(der, 0, der.length);
  const tbs = children(der, cert)[0];
  if (!tbs) throw new Error("certificate without tbsCertificate");
  const f = children(der, tbs);
  const i = f[0]?.tag === 0xa0 ? 1 : 0; // [0] EXPLICIT version is optional
  const serial = f[i];
  const issuer = f[i + 2];
  const spki = f[i + 5];
  if (serial?.tag !== 0x02 || issuer?.tag !== 0x30 || spki?.tag !== 0x30) throw new Error("malformed tbsCertificate");
  return { serial: der.subarray(serial.start, serial.end), issuerDer: der.subarray(issuer.head, issuer.end), spkiDer: der.subarray(spki.head, spki.end) };
}

export function parsePeerCertificate(der: Buffer): PeerCertificate {
  const x509 = new X509Certificate(der);
  const ext = extensionsOf(der);
  const parts = tbsParts(der);
  const san = ext.get(OID_SAN);
  const sans = san ? parseSans(san) : [];
  return {
    der,
    sans,
    uriSans: sans.filter((s) => s.type === "URI").map((s) => s.value),
    dnsSans: sans.filter((s) => s.type === "DNS").map((s) => s.value),
    isCa: basicConstraintsCa(ext.get(OID_BASIC_CONSTRAINTS)),
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    sha256Hex: createHash("sha256").update(der).digest("hex"),
    subject: rfc2253(x509.subject),
    pem: x509.toString(),
    x509,
    ...parts,
  };
}

/** The first certificate of a PEM chain (our own cert, for XFCC By=). */
export function firstCertificateOfPem(pem: string): PeerCertificate | undefined {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!m) return undefined;
  return parsePeerCertificate(new X509Certificate(m[0]).raw);
}
