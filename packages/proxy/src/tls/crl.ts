// Certificate revocation lists (CertificateValidationContext.crl, and CRLs
// inside trusted_ca as Envoy reads them): split into the single-CRL PEMs that
// Node's `crl` option takes, and parsed (RFC 5280 §5.1) for the check Weft
// runs itself — only_verify_leaf_cert_crl, which OpenSSL's flags could do but
// Node cannot set (its `crl` option always means CRL_CHECK | CRL_CHECK_ALL).
import { createSecureContext } from "node:tls";
import { verify, type X509Certificate } from "node:crypto";
import { ResourceRejectedError } from "../contracts.js";
import { children, readTlv, tbsParts, type Tlv } from "./peer-certificate.js";

export interface ParsedCrl {
  /** The CRL as one PEM block (what Node's `crl` option takes, one per entry). */
  pem: string;
  issuerDer: Buffer;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Revoked serial numbers as hex of their INTEGER content. */
  revoked: ReadonlySet<string>;
  tbs: Buffer;
  /** node:crypto's digest for the signature algorithm (null for EdDSA). */
  digest: string | null;
  signature: Buffer;
  /** SHA-256 fingerprints of issuer certificates whose key verified the signature (verified once per issuer). */
  verifiedBy: Set<string>;
}

const PEM_CRL = /-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g;

/** The PEM CRL blocks of a text, in order. */
export function crlBlocks(text: string): string[] {
  return text.match(PEM_CRL) ?? [];
}

// AlgorithmIdentifier OIDs (DER content, hex) of the CRL signatures we can verify.
const DIGEST_OF_OID: Record<string, string | null> = {
  "2a864886f70d010105": "sha1", // sha1WithRSAEncryption
  "2a864886f70d01010b": "sha256", // sha256WithRSAEncryption
  "2a864886f70d01010c": "sha384",
  "2a864886f70d01010d": "sha512",
  "2a8648ce3d040302": "sha256", // ecdsa-with-SHA256
  "2a8648ce3d040303": "sha384",
  "2a8648ce3d040304": "sha512",
  "2b6570": null, // Ed25519
  "2b6571": null, // Ed448
};

function time(b: Buffer, t: Tlv): Date {
  const s = b.toString("latin1", t.start, t.end);
  // UTCTime YYMMDDHHMMSSZ (years 50–99 are 19xx), GeneralizedTime YYYYMMDDHHMMSSZ.
  const full = t.tag === 0x17 ? (Number(s.slice(0, 2)) >= 50 ? "19" : "20") + s : s;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(full);
  if (!m) throw new Error(`bad time ${s}`);
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

function parseCrl(pem: string): ParsedCrl {
  const der = Buffer.from(pem.replace(/-----(BEGIN|END) X509 CRL-----|\s/g, ""), "base64");
  const top = readTlv(der, 0, der.length);
  const [tbsT, algT, sigT] = children(der, top);
  if (tbsT?.tag !== 0x30 || algT?.tag !== 0x30 || sigT?.tag !== 0x03) throw new Error("not a CertificateList");
  const oid = children(der, algT)[0];
  const oidHex = oid ? der.toString("hex", oid.start, oid.end) : "";
  if (!(oidHex in DIGEST_OF_OID)) throw new Error(`signature algorithm ${oidHex || "?"} is not supported (RSA PKCS#1, ECDSA, EdDSA are)`);
  const f = children(der, tbsT);
  let i = f[0]?.tag === 0x02 ? 1 : 0; // version is optional (v1 CRLs)
  i++; // signature AlgorithmIdentifier
  const issuer = f[i++];
  const thisT = f[i++];
  if (issuer?.tag !== 0x30 || !thisT) throw new Error("malformed TBSCertList");
  let nextUpdate: Date | undefined;
  if (f[i] && (f[i].tag === 0x17 || f[i].tag === 0x18)) nextUpdate = time(der, f[i++]);
  const revoked = new Set<string>();
  if (f[i]?.tag === 0x30) {
    for (const entry of children(der, f[i])) {
      const serial = children(der, entry)[0];
      if (serial?.tag === 0x02) revoked.add(der.toString("hex", serial.start, serial.end));
    }
  }
  return {
    pem,
    issuerDer: der.subarray(issuer.head, issuer.end),
    thisUpdate: time(der, thisT),
    nextUpdate,
    revoked,
    tbs: der.subarray(tbsT.head, tbsT.end),
    digest: DIGEST_OF_OID[oidHex] ?? null,
    signature: der.subarray(sigT.start + 1, sigT.end), // skip the BIT STRING's unused-bits byte
    verifiedBy: new Set(),
  };
}

/** PEM CRLs → parsed CRLs; a text without any, or one OpenSSL or we cannot read, is a NACK naming the field. */
export function compileCrls(text: string, resource: string, field: string): ParsedCrl[] {
  const blocks = crlBlocks(text);
  if (blocks.length === 0) throw new ResourceRejectedError(resource, field, "must hold PEM CRLs (-----BEGIN X509 CRL-----)");
  const out = blocks.map((pem, i) => {
    try {
      return parseCrl(pem);
    } catch (err) {
      throw new ResourceRejectedError(resource, field, `CRL ${i + 1} of ${blocks.length}: ${(err as Error).message}`);
    }
  });
  try {
    createSecureContext({ crl: blocks });
  } catch (err) {
    throw new ResourceRejectedError(resource, field, `OpenSSL cannot load the CRLs: ${(err as Error).message}`);
  }
  return out;
}

function signedBy(crl: ParsedCrl, issuer: X509Certificate): boolean {
  if (crl.verifiedBy.has(issuer.fingerprint256)) return true;
  let ok = false;
  try {
    ok = verify(crl.digest, crl.tbs, issuer.publicKey, crl.signature);
  } catch {
    ok = false;
  }
  if (ok) crl.verifiedBy.add(issuer.fingerprint256);
  return ok;
}

/**
 * The leaf's revocation status against `crls` as OpenSSL's X509_V_FLAG_CRL_CHECK
 * judges the leaf: undefined when a CRL signed by its issuer is current and
 * does not list it, else OpenSSL's error name (UNABLE_TO_GET_CRL when no CRL
 * of its issuer is there — a CRL is then required, as in Envoy).
 */
export function leafRevocation(leafDer: Buffer, issuer: X509Certificate | undefined, crls: readonly ParsedCrl[], checkTime: boolean, now = Date.now()): string | undefined {
  const { issuerDer, serial } = tbsParts(leafDer);
  const serialHex = serial.toString("hex");
  let found: ParsedCrl | undefined;
  for (const c of crls) {
    if (!issuer || !c.issuerDer.equals(issuerDer) || !signedBy(c, issuer)) continue;
    if (c.revoked.has(serialHex)) return "CERT_REVOKED";
    found ??= c;
  }
  if (!found) return "UNABLE_TO_GET_CRL";
  if (checkTime) {
    if (found.thisUpdate.getTime() > now) return "CRL_NOT_YET_VALID";
    if (found.nextUpdate && found.nextUpdate.getTime() < now) return "CRL_HAS_EXPIRED";
  }
  return undefined;
}
