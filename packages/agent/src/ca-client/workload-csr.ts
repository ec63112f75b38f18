// The workload key and CSR, as Istio's agent makes them (security/pkg/pki/util GenCSR with
// ECC_SIGNATURE_ALGORITHM=ECDSA): P-256, no subject, the SPIFFE ID as the only URI SAN,
// marked critical as RFC 5280 §4.2.1.6 asks when the subject is empty. The CA ignores the
// SAN and uses the authenticated caller, but sending it keeps the CSR self-describing and
// compatible with CAs that check it. Encoded by hand (der.ts) with node:crypto's keys and
// signature: an ASN.1/X.509 library cost every agent ≈ 3 MB of heap for this one request.
import { generateKeyPair, sign, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { bitString, booleanTrue, octetString, oid, pem, sequence, set, smallInteger, tlv } from "./der.js";

export interface WorkloadKeyAndCsr {
  /** PKCS#8 PEM private key, what SDS hands to the proxy. */
  keyPem: string;
  csrPem: string;
}

const EXTENSION_REQUEST = "1.2.840.113549.1.9.14"; // PKCS#9 extensionRequest
const SUBJECT_ALT_NAME = "2.5.29.17";
const ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
/** GeneralName uniformResourceIdentifier: [6] IMPLICIT IA5String. */
const URI_NAME_TAG = 0x86;

const generateEcKeyPair = promisify(generateKeyPair);

/** The DER PKCS#10 CertificationRequest (RFC 2986) for `publicKey` with a URI SAN, signed by `privateKey`. */
export function encodeCsr(spiffeId: string, publicKey: KeyObject, privateKey: KeyObject): Buffer {
  const san = sequence(oid(SUBJECT_ALT_NAME), booleanTrue(), octetString(sequence(tlv(URI_NAME_TAG, Buffer.from(spiffeId, "ascii")))));
  const info = sequence(
    smallInteger(0), // version v1
    sequence(), // subject: empty Name
    publicKey.export({ type: "spki", format: "der" }),
    tlv(0xa0, sequence(oid(EXTENSION_REQUEST), set(sequence(san)))), // attributes [0]
  );
  const signature = sign("sha256", info, { key: privateKey, dsaEncoding: "der" });
  return sequence(info, sequence(oid(ECDSA_WITH_SHA256)), bitString(signature));
}

export async function createWorkloadCsr(spiffeId: string): Promise<WorkloadKeyAndCsr> {
  // ASCII only: a URI SAN is an IA5String (and Kubernetes names are ASCII anyway).
  if (!/^spiffe:\/\/[\x21-\x2e\x30-\x7e]+\/ns\/[\x21-\x2e\x30-\x7e]+\/sa\/[\x21-\x2e\x30-\x7e]+$/.test(spiffeId)) {
    throw new Error(`${JSON.stringify(spiffeId)} is not a workload SPIFFE ID (spiffe://<trust-domain>/ns/<ns>/sa/<sa>, printable ASCII)`);
  }
  const { publicKey, privateKey } = await generateEcKeyPair("ec", { namedCurve: "prime256v1" });
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  return { keyPem: keyPem.endsWith("\n") ? keyPem : `${keyPem}\n`, csrPem: pem("CERTIFICATE REQUEST", encodeCsr(spiffeId, publicKey, privateKey)) };
}
