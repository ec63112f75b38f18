// Redaction as Envoy's config_dump does it (secret_manager_impl.cc, redactSecret).
import { create } from "@bufbuild/protobuf";
import { anyPack, anyUnpack } from "@bufbuild/protobuf/wkt";
import { toEnvoyJson } from "@weft/xds-api";
import { ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { SecretSchema } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { describe, expect, it } from "vitest";
import { REDACTED, redactSecret, redactSecretAny } from "./redact.js";

const bytes = (s: string) => ({ specifier: { case: "inlineBytes" as const, value: new TextEncoder().encode(s) } });
const KEY = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";

describe("redactSecret()", () => {
  it("replaces the private key and password of a tls_certificate, keeps the chain, and leaves the original alone", () => {
    const secret = create(SecretSchema, {
      name: "kubernetes://gw",
      type: { case: "tlsCertificate", value: { certificateChain: bytes("CHAIN"), privateKey: bytes(KEY), password: { specifier: { case: "inlineString", value: "hunter2" } } } },
    });
    const json = JSON.stringify(toEnvoyJson(SecretSchema, redactSecret(secret)));
    expect(JSON.parse(json)).toEqual({
      name: "kubernetes://gw",
      tls_certificate: { certificate_chain: { inline_bytes: Buffer.from("CHAIN").toString("base64") }, private_key: { inline_string: REDACTED }, password: { inline_string: REDACTED } },
    });
    expect(json).not.toContain(Buffer.from(KEY).toString("base64").slice(0, 24));
    expect(secret.type.case === "tlsCertificate" && secret.type.value.privateKey?.specifier.case).toBe("inlineBytes");
  });

  it("keeps a filename (it says where the key is, not what it is), as Envoy", () => {
    const secret = create(SecretSchema, { name: "f", type: { case: "tlsCertificate", value: { privateKey: { specifier: { case: "filename", value: "/etc/certs/key.pem" } } } } });
    expect(toEnvoyJson(SecretSchema, redactSecret(secret))).toEqual({ name: "f", tls_certificate: { private_key: { filename: "/etc/certs/key.pem" } } });
  });

  it("redacts session ticket keys and generic secrets; a validation_context is public", () => {
    const tickets = create(SecretSchema, { name: "t", type: { case: "sessionTicketKeys", value: { keys: [bytes("k1"), bytes("k2")] } } });
    expect(toEnvoyJson(SecretSchema, redactSecret(tickets))).toEqual({ name: "t", session_ticket_keys: { keys: [{ inline_string: REDACTED }, { inline_string: REDACTED }] } });
    const generic = create(SecretSchema, { name: "g", type: { case: "genericSecret", value: { secret: bytes("token") } } });
    expect(toEnvoyJson(SecretSchema, redactSecret(generic))).toEqual({ name: "g", generic_secret: { secret: { inline_string: REDACTED } } });
    const ca = create(SecretSchema, { name: "c", type: { case: "validationContext", value: { trustedCa: bytes("CA") } } });
    expect(toEnvoyJson(SecretSchema, redactSecret(ca))).toEqual(toEnvoyJson(SecretSchema, ca));
  });
});

describe("redactSecretAny()", () => {
  it("redacts a packed Secret and passes other types through", () => {
    const packed = anyPack(SecretSchema, create(SecretSchema, { name: "s", type: { case: "tlsCertificate", value: { privateKey: bytes(KEY) } } }));
    const out = anyUnpack(redactSecretAny(packed), SecretSchema)!;
    expect(out.type.case === "tlsCertificate" && out.type.value.privateKey?.specifier).toEqual({ case: "inlineString", value: REDACTED });
    const cluster = anyPack(ClusterSchema, create(ClusterSchema, { name: "c" }));
    expect(redactSecretAny(cluster)).toBe(cluster);
  });
});
