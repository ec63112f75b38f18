// Envoy's config_dump shows secrets with their private parts replaced by
// `inline_string: "[redacted]"` (secret_manager_impl.cc, redactSecret): the
// private key and its password of a tls_certificate, every session ticket key,
// a generic secret. Certificates and CA bundles are public and stay.
import { clone } from "@bufbuild/protobuf";
import { anyPack, anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import type { DataSource } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb.js";
import { SecretSchema, type Secret } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";

export const REDACTED = "[redacted]";

/** A file path names where the key is, not the key: Envoy leaves filenames alone. */
function redactSource(source: DataSource | undefined): void {
  if (!source || source.specifier.case === "filename" || source.specifier.case === undefined) return;
  source.specifier = { case: "inlineString", value: REDACTED };
}

/** A copy of `secret` that is safe to show. */
export function redactSecret(secret: Secret): Secret {
  const copy = clone(SecretSchema, secret);
  switch (copy.type.case) {
    case "tlsCertificate":
      redactSource(copy.type.value.privateKey);
      redactSource(copy.type.value.password);
      break;
    case "sessionTicketKeys":
      for (const key of copy.type.value.keys) redactSource(key);
      break;
    case "genericSecret":
      redactSource(copy.type.value.secret);
      break;
    default:
      break;
  }
  return copy;
}

/** The packed Secret with its private parts redacted; an `Any` of another type is returned as is. */
export function redactSecretAny(any: Any): Any {
  const secret = anyUnpack(any, SecretSchema);
  return secret ? anyPack(SecretSchema, redactSecret(secret)) : any;
}
