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
  if (v.verifyCertificateSpki.length) report("tls.validation_context.verify_certificate_spki", "not implemented; ignored");
  if (v.crl) report("tls.validation_context.crl", "not implemented; ignored");
  if (v.customValidatorConfig) throw new ResourceRejectedError(resource, `${field}.custom_validator_config`, "custom certificate validators are not implemented");
  if (v.systemRootCerts) report("tls.validation_context.system_root_certs", "not implemented; only trusted_ca is used");
  return {
    kind: "validation_context",
    trustedCa,
    sanMatch: compileSanMatchers(v.matchSubjectAltNames, v.matchTypedSubjectAltNames, resource, field),
    allowExpired: v.allowExpiredCertificate,
    acceptUntrusted: v.trustChainVerification === CertificateValidationContext_TrustChainVerification.ACCEPT_UNTRUSTED,
    certHashes: v.verifyCertificateHash.map((h) => h.replace(/:/g, "").toLowerCase()),
  };
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

/** Combined validation: the dynamic (SDS) context's set fields win over default_validation_context's. */
export function mergeValidation(base: ValidationSecret | undefined, dynamic: ValidationSecret | undefined): ValidationSecret | undefined {
  if (!base) return dynamic;
  if (!dynamic) return base;
  return {
    kind: "validation_context",
    trustedCa: dynamic.trustedCa ?? base.trustedCa,
    sanMatch: dynamic.sanMatch ?? base.sanMatch,
    allowExpired: dynamic.allowExpired || base.allowExpired,
    acceptUntrusted: dynamic.acceptUntrusted || base.acceptUntrusted,
    certHashes: dynamic.certHashes.length ? dynamic.certHashes : base.certHashes,
  };
}
