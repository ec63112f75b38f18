// A minimal SDS client for tests: asks the agent's SDS Unix socket for secrets the way
// Envoy does (StreamSecrets, node + resource names) and returns the first response's
// secrets, decoded.
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { unpackAny } from "@weft/xds-api";
import { SecretSchema, type Secret } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb";
import { DiscoveryRequestSchema, DiscoveryResponseSchema, type DiscoveryResponse } from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb";
import * as x509 from "./x509.js";

const SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

export async function fetchSecrets(socketPath: string, names: string[], timeoutMs = 10_000): Promise<Secret[]> {
  const client = new grpc.Client(`unix://${socketPath}`, grpc.credentials.createInsecure());
  const call = client.makeBidiStreamRequest(
    "/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets",
    (m: MessageInitShape<typeof DiscoveryRequestSchema>) => Buffer.from(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, m))),
    (b: Buffer) => fromBinary(DiscoveryResponseSchema, b),
  );
  try {
    return await new Promise<Secret[]>((resolve, reject) => {
      const got = new Map<string, Secret>();
      const timer = setTimeout(() => reject(new Error(`SDS ${socketPath}: no ${names.join(", ")} within ${timeoutMs} ms`)), timeoutMs);
      call.on("data", (res: DiscoveryResponse) => {
        for (const any of res.resources) {
          const s = unpackAny(any, SecretSchema);
          got.set(s.name, s);
        }
        if (names.every((n) => got.has(n))) {
          clearTimeout(timer);
          resolve(names.map((n) => got.get(n)!));
        }
      });
      call.on("error", (e: Error) => {
        clearTimeout(timer);
        reject(e);
      });
      call.write({ node: { id: "sidecar~127.0.0.1~test.default~default.svc.cluster.local" }, resourceNames: names, typeUrl: SECRET_TYPE });
    });
  } finally {
    call.cancel();
    client.close();
  }
}

const text = (spec: { specifier: { case?: string; value?: unknown } } | undefined) =>
  spec?.specifier.case === "inlineBytes" ? new TextDecoder().decode(spec.specifier.value as Uint8Array) : spec?.specifier.case === "inlineString" ? (spec.specifier.value as string) : "";

/** The leaf certificate of a `default` secret. */
export function leafOf(secret: Secret): x509.X509Certificate {
  if (secret.type.case !== "tlsCertificate") throw new Error(`secret ${secret.name} is not a tls_certificate`);
  return new x509.X509Certificate(text(secret.type.value.certificateChain));
}

/** The trusted CA PEM of a `ROOTCA` secret. */
export function trustedCaOf(secret: Secret): string {
  if (secret.type.case !== "validationContext") throw new Error(`secret ${secret.name} is not a validation_context`);
  return text(secret.type.value.trustedCa);
}

export function uriSans(cert: x509.X509Certificate): string[] {
  return (cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON() ?? []).filter((n) => n.type === "url").map((n) => n.value);
}
