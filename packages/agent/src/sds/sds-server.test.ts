import { mkdtempSync, writeFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TypeUrl, unpackAny } from "@weft/xds-api";
import { SecretSchema } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb";
import {
  DeltaDiscoveryRequestSchema,
  DeltaDiscoveryResponseSchema,
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  type DeltaDiscoveryResponse,
  type DiscoveryResponse,
} from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb";
import { until } from "../test-util/grpc-ads-client.js";
import { createFileCertificateProvider, type CertificateProvider } from "./certificate-provider.js";
import { createSdsServer, type SdsServer } from "./sds-server.js";

const log = pino({ level: "silent" });
const SVC = "/envoy.service.secret.v3.SecretDiscoveryService/";
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("createSdsServer()", () => {
  let dir: string;
  let provider: CertificateProvider;
  let sds: SdsServer;
  let client: grpc.Client;

  const write = (name: string, content: string) => {
    // Write-then-rename, as a secret mount update or a CA agent would.
    writeFileSync(join(dir, `.${name}.tmp`), content);
    renameSync(join(dir, `.${name}.tmp`), join(dir, name));
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "weft-sds-"));
    write("cert-chain.pem", "CHAIN-1");
    write("key.pem", "KEY-1");
    write("root-cert.pem", "ROOT-1");
    provider = await createFileCertificateProvider({ certChain: join(dir, "cert-chain.pem"), key: join(dir, "key.pem"), rootCert: join(dir, "root-cert.pem") }, log, 200);
    sds = await createSdsServer(join(dir, "SDS"), provider, log);
    client = new grpc.Client(`unix://${join(dir, "SDS")}`, grpc.credentials.createInsecure());
  });

  afterEach(async () => {
    client.close();
    provider.close();
    await sds.close();
  });

  function streamSecrets() {
    const responses: DiscoveryResponse[] = [];
    const call = client.makeBidiStreamRequest(
      `${SVC}StreamSecrets`,
      (m: MessageInitShape<typeof DiscoveryRequestSchema>) => Buffer.from(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, m))),
      (b: Buffer) => fromBinary(DiscoveryResponseSchema, b),
    );
    call.on("data", (r: DiscoveryResponse) => responses.push(r));
    call.on("error", () => undefined);
    return { responses, send: (m: MessageInitShape<typeof DiscoveryRequestSchema>) => call.write(m), cancel: () => call.cancel() };
  }

  it("serves `default` as a tls_certificate and `ROOTCA` as a validation_context", async () => {
    const s = streamSecrets();
    s.send({ typeUrl: TypeUrl.Secret, resourceNames: ["default"] });
    const r = streamSecrets();
    r.send({ typeUrl: TypeUrl.Secret, resourceNames: ["ROOTCA"] });
    await until(() => s.responses.length === 1 && r.responses.length === 1, "both secrets");
    const def = unpackAny(s.responses[0].resources[0], SecretSchema);
    expect(def.name).toBe("default");
    expect(def.type.case).toBe("tlsCertificate");
    if (def.type.case === "tlsCertificate") {
      expect(def.type.value.certificateChain?.specifier).toEqual({ case: "inlineBytes", value: expect.any(Uint8Array) });
      expect(text(def.type.value.certificateChain!.specifier.value as Uint8Array)).toBe("CHAIN-1");
      expect(text(def.type.value.privateKey!.specifier.value as Uint8Array)).toBe("KEY-1");
    }
    const root = unpackAny(r.responses[0].resources[0], SecretSchema);
    expect(root.type.case === "validationContext" && text(root.type.value.trustedCa!.specifier.value as Uint8Array)).toBe("ROOT-1");
    s.cancel();
    r.cancel();
  });

  it("pushes a rotated certificate to an open stream, and not again on the ACK", async () => {
    const s = streamSecrets();
    s.send({ typeUrl: TypeUrl.Secret, resourceNames: ["default"] });
    await until(() => s.responses.length === 1, "first secret");
    s.send({ typeUrl: TypeUrl.Secret, resourceNames: ["default"], versionInfo: s.responses[0].versionInfo, responseNonce: s.responses[0].nonce });
    write("cert-chain.pem", "CHAIN-2");
    await until(() => s.responses.length === 2, "rotated secret");
    const def = unpackAny(s.responses[1].resources[0], SecretSchema);
    expect(def.type.case === "tlsCertificate" && text(def.type.value.certificateChain!.specifier.value as Uint8Array)).toBe("CHAIN-2");
    expect(s.responses[1].versionInfo).not.toBe(s.responses[0].versionInfo);
    s.send({ typeUrl: TypeUrl.Secret, resourceNames: ["default"], versionInfo: s.responses[1].versionInfo, responseNonce: s.responses[1].nonce });
    await new Promise((r) => setTimeout(r, 300));
    expect(s.responses).toHaveLength(2);
    s.cancel();
  });

  it("serves delta subscriptions and skips what the proxy already holds", async () => {
    const responses: DeltaDiscoveryResponse[] = [];
    const call = client.makeBidiStreamRequest(
      `${SVC}DeltaSecrets`,
      (m: MessageInitShape<typeof DeltaDiscoveryRequestSchema>) => Buffer.from(toBinary(DeltaDiscoveryRequestSchema, create(DeltaDiscoveryRequestSchema, m))),
      (b: Buffer) => fromBinary(DeltaDiscoveryResponseSchema, b),
    );
    call.on("data", (r: DeltaDiscoveryResponse) => responses.push(r));
    call.on("error", () => undefined);
    call.write({ typeUrl: TypeUrl.Secret, resourceNamesSubscribe: ["default", "ROOTCA"] });
    await until(() => responses.length === 1, "delta secrets");
    expect(responses[0].resources.map((r) => r.name).sort()).toEqual(["ROOTCA", "default"]);
    write("root-cert.pem", "ROOT-2");
    await until(() => responses.length === 2, "rotated root");
    expect(responses[1].resources.map((r) => r.name)).toEqual(["ROOTCA"]);
    call.cancel();
  });

  it("holds the response until the files exist", async () => {
    const empty = mkdtempSync(join(tmpdir(), "weft-sds-empty-"));
    const p = await createFileCertificateProvider({ certChain: join(empty, "c.pem"), key: join(empty, "k.pem"), rootCert: join(empty, "r.pem") }, log, 100);
    expect(p.current()).toBeUndefined();
    let changed = 0;
    p.onChange(() => changed++);
    writeFileSync(join(empty, "c.pem"), "C");
    writeFileSync(join(empty, "k.pem"), "K");
    writeFileSync(join(empty, "r.pem"), "R");
    await until(() => p.current() !== undefined, "files appear");
    expect(changed).toBeGreaterThan(0);
    p.close();
  });
});
