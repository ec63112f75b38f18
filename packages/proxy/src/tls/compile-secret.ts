// envoy.extensions.transport_sockets.tls.v3.Secret (and the inline
// TlsCertificate / CertificateValidationContext of a TLS context) → plain PEM
// material. The only place that reads those protos' data sources.
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import type { DataSource } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb.js";
import type { CertificateValidationContext, TlsCertificate } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import { CertificateValidationContext_TrustChainVerification } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import type { Secret } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { ResourceRejectedError } from "../contracts.js";
import { compileCrls, crlBlocks, type ParsedCrl } from "./crl.js";
import { compileSanMatchers, type SanPredicate } from "./san-matcher.js";

export interface CertificateSecret {
  kind: "tls_certificate";
  certChain: string;
  privateKey: string;
  password?: string;
}

export interface ValidationSecret {
  kind: "validation_context";
  trustedCa?: string;
  sanMatch?: SanPredicate;
  allowExpired: boolean;
  /** ACCEPT_UNTRUSTED: the chain is not verified (only the other checks run). */
  acceptUntrusted: boolean;
  /** verify_certificate_hash: allowed SHA-256 hex digests of the peer cert (lower case, no colons). */
  certHashes: string[];
  /** verify_certificate_spki: allowed SHA-256 digests of the peer's DER SubjectPublicKeyInfo (lower-case hex). */
  spkiHashes: string[];
  /** The CRLs in force: crl's, plus any inside trusted_ca (Envoy loads both). */
  crls: ParsedCrl[];
  /** Where they came from, for combined_validation_context's merge. */
  crlSources: { trustedCa: ParsedCrl[]; crl?: ParsedCrl[] };
  /** only_verify_leaf_cert_crl. */
  onlyLeafCrl: boolean;
}

export type CompiledSecret = CertificateSecret | ValidationSecret | { kind: "other"; type: string };

export function dataSourceText(ds: DataSource | undefined, resource: string, field: string): string | undefined {
  const s = ds?.specifier;
  if (!s || !s.case) return undefined;
  switch (s.case) {
    case "inlineBytes":
      return Buffer.from(s.value).toString("utf8");
    case "inlineString":
      return s.value;
    case "filename":
      try {
        return readFileSync(s.value, "utf8");
      } catch (err) {
        throw new ResourceRejectedError(resource, `${field}.filename`, `cannot read ${s.value}: ${(err as Error).message}`);
      }
    case "environmentVariable": {
      const v = process.env[s.value];
      if (v === undefined) throw new ResourceRejectedError(resource, `${field}.environment_variable`, `${s.value} is not set`);
      return v;
    }
    default:
      return undefined;
  }
}

export function compileTlsCertificate(c: TlsCertificate, resource: string, field: string): CertificateSecret {
  const certChain = dataSourceText(c.certificateChain, resource, `${field}.certificate_chain`);
  const privateKey = dataSourceText(c.privateKey, resource, `${field}.private_key`);
  if (c.privateKeyProvider) throw new ResourceRejectedError(resource, `${field}.private_key_provider`, "private key providers are not implemented");
  if (!certChain || !certChain.includes("-----BEGIN CERTIFICATE-----")) throw new ResourceRejectedError(resource, `${field}.certificate_chain`, "a PEM certificate chain is required");
  if (!privateKey || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(privateKey)) throw new ResourceRejectedError(resource, `${field}.private_key`, "a PEM private key is required");
  const password = dataSourceText(c.password, resource, `${field}.password`);
  try {
    // Loads both and checks the key belongs to the leaf: a bad secret is NACKed, not found at the next handshake.
    createSecureContext({ cert: certChain, key: privateKey, passphrase: password });
  } catch (err) {
    throw new ResourceRejectedError(resource, field, `cannot load the certificate and private key: ${(err as Error).message}`);
  }
  return { kind: "tls_certificate", certChain, privateKey, password };
}

export function compileValidationContext(v: CertificateValidationContext, resource: string, field: string, report: (f: string, d?: string) => void): ValidationSecret {
  const trustedCa = dataSourceText(v.trustedCa, resource, `${field}.trusted_ca`);
  if (trustedCa !== undefined && !trustedCa.includes("-----BEGIN CERTIFICATE-----")) throw new ResourceRejectedError(resource, `${field}.trusted_ca`, "must hold PEM certificates");
  const crlText = dataSourceText(v.crl, resource, `${field}.crl`);
  // Envoy takes CRLs found in the trusted_ca bundle as well, and then checks revocation the same way.
  const crlSources = {
    trustedCa: trustedCa !== undefined && crlBlocks(trustedCa).length ? compileCrls(trustedCa, resource, `${field}.trusted_ca`) : [],
    crl: crlText !== undefined ? compileCrls(crlText, resource, `${field}.crl`) : undefined,
  };
  if (v.customValidatorConfig) throw new ResourceRejectedError(resource, `${field}.custom_validator_config`, "custom certificate validators are not implemented");
  if (v.systemRootCerts) report("tls.validation_context.system_root_certs", "not implemented; only trusted_ca is used");
  return {
    kind: "validation_context",
    trustedCa,
    sanMatch: compileSanMatchers(v.matchSubjectAltNames, v.matchTypedSubjectAltNames, resource, field),
    allowExpired: v.allowExpiredCertificate,
    acceptUntrusted: v.trustChainVerification === CertificateValidationContext_TrustChainVerification.ACCEPT_UNTRUSTED,
    certHashes: v.verifyCertificateHash.map((h, i) => certHash(h, resource, `${field}.verify_certificate_hash[${i}]`)),
    spkiHashes: v.verifyCertificateSpki.map((h, i) => spkiHash(h, resource, `${field}.verify_certificate_spki[${i}]`)),
    crls: [...crlSources.trustedCa, ...(crlSources.crl ?? [])],
    crlSources,
    onlyLeafCrl: v.onlyVerifyLeafCertCrl,
  };
}

/**
 * verify_certificate_hash: 64 hex digits, or the 95-character colon-separated
 * fingerprint (Envoy removes colons only from a value of that length), either case.
 */
function certHash(h: string, resource: string, field: string): string {
  const hex = h.length === 95 ? h.replace(/:/g, "") : h;
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new ResourceRejectedError(resource, field, `invalid hex-encoded SHA-256 ${JSON.stringify(h)}`);
  return hex.toLowerCase();
}

/** verify_certificate_spki: standard base64 of a 32-byte SHA-256. */
function spkiHash(h: string, resource: string, field: string): string {
  const ok = h.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(h);
  const bytes = ok ? Buffer.from(h, "base64") : undefined;
  if (!bytes || bytes.length !== 32) throw new ResourceRejectedError(resource, field, `invalid base64-encoded SHA-256 ${JSON.stringify(h)}`);
  return bytes.toString("hex");
}

/** A Secret from SDS or static_resources.secrets; throws ResourceRejectedError naming the field. */
export function compileSecret(s: Secret, resource: string, report: (f: string, d?: string) => void): CompiledSecret {
  switch (s.type.case) {
    case "tlsCertificate":
      return compileTlsCertificate(s.type.value, resource, "tls_certificate");
    case "validationContext":
      return compileValidationContext(s.type.value, resource, "validation_context", report);
    case "sessionTicketKeys":
    case "genericSecret":
      return { kind: "other", type: s.type.case };
    default:
      throw new ResourceRejectedError(resource, "type", "a secret needs tls_certificate, validation_context, session_ticket_keys or generic_secret");
  }
}

/**
 * Combined validation as Envoy merges it (the default context, then the SDS one merged over it as
 * protobuf MergeFrom does): set singular fields of the dynamic context win, repeated ones — the pin
 * lists — are concatenated, so a pin from either part accepts.
 */
export function mergeValidation(base: ValidationSecret | undefined, dynamic: ValidationSecret | undefined): ValidationSecret | undefined {
  if (!base) return dynamic;
  if (!dynamic) return base;
  const crlSources = {
    trustedCa: dynamic.trustedCa !== undefined ? dynamic.crlSources.trustedCa : base.crlSources.trustedCa,
    crl: dynamic.crlSources.crl ?? base.crlSources.crl,
  };
  return {
    kind: "validation_context",
    trustedCa: dynamic.trustedCa ?? base.trustedCa,
    sanMatch: dynamic.sanMatch ?? base.sanMatch,
    allowExpired: dynamic.allowExpired || base.allowExpired,
    acceptUntrusted: dynamic.acceptUntrusted || base.acceptUntrusted,
    certHashes: [...base.certHashes, ...dynamic.certHashes],
    spkiHashes: [...base.spkiHashes, ...dynamic.spkiHashes],
    crls: [...crlSources.trustedCa, ...(crlSources.crl ?? [])],
    crlSources,
    onlyLeafCrl: dynamic.onlyLeafCrl || base.onlyLeafCrl,
  };
}
