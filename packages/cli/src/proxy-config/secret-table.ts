import { X509Certificate } from "node:crypto";
import type { Secret } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import type { DataSource } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb.js";

export const SECRET_HEADER = ["RESOURCE NAME", "TYPE", "STATUS", "VALID CERT", "SERIAL NUMBER", "NOT AFTER", "NOT BEFORE"];

function dataOf(source: DataSource | undefined): string | undefined {
  const s = source?.specifier;
  if (s?.case === "inlineBytes") return Buffer.from(s.value).toString("utf8");
  if (s?.case === "inlineString") return s.value;
  return undefined;
}

function firstCert(pem: string | undefined): X509Certificate | undefined {
  const block = pem?.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  if (!block) return undefined;
  try {
    return new X509Certificate(block);
  } catch {
    return undefined;
  }
}

export function secretRows(secrets: ReadonlyArray<{ name: string; secret?: Secret; active: boolean }>, now = new Date()): string[][] {
  return secrets.map(({ name, secret, active }) => {
    const type = secret?.type.case === "tlsCertificate" ? "Cert Chain" : secret?.type.case === "validationContext" ? "CA" : "-";
    const pem = secret?.type.case === "tlsCertificate" ? dataOf(secret.type.value.certificateChain) : secret?.type.case === "validationContext" ? dataOf(secret.type.value.trustedCa) : undefined;
    const cert = firstCert(pem);
    const valid = cert ? new Date(cert.validFrom) <= now && now <= new Date(cert.validTo) : false;
    const iso = (d: string) => new Date(d).toISOString().replace(/\.\d{3}Z$/, "Z");
    return [name, type, active ? "ACTIVE" : "WARMING", String(valid), cert ? BigInt("0x" + cert.serialNumber).toString(16) : "-", cert ? iso(cert.validTo) : "-", cert ? iso(cert.validFrom) : "-"];
  });
}
