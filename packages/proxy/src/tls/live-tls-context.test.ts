// Live TLS contexts: ready only with all their secrets, rebuilt on rotation,
// and one shared SecureContext for many clusters with the same material.
import { anyPack } from "@bufbuild/protobuf/wkt";
import { SecretSchema } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger } from "../test-util/quiet-logger.js";
import { createTestPki, type TestCa, type TestPki } from "../test-util/test-pki.js";
import { compileTlsCertificate, compileValidationContext } from "./compile-secret.js";
import type { SecretSource, TlsContextSpec } from "./compile-tls-context.js";
import { createLiveTlsContext } from "./live-tls-context.js";
import { createSecretStore } from "./secret-store.js";

const SRC: SecretSource = { kind: "grpc", key: "grpc:sds-grpc", cluster: "sds-grpc", delta: false };
const spec = (sni: string): TlsContextSpec => ({
  side: "upstream",
  certificate: { ref: { name: "default", source: SRC, initialFetchTimeoutMs: 0 } },
  validation: { ref: { name: "ROOTCA", source: SRC, initialFetchTimeoutMs: 0 } },
  alpn: ["istio-peer-exchange", "istio"],
  minVersion: "TLSv1.2",
  maxVersion: "TLSv1.3",
  requireClientCert: false,
  requireSni: false,
  sni,
  refs: [
    { name: "default", source: SRC, initialFetchTimeoutMs: 0 },
    { name: "ROOTCA", source: SRC, initialFetchTimeoutMs: 0 },
  ],
});

describe("createLiveTlsContext", () => {
  let pki: TestPki;
  let root: TestCa;
  beforeAll(() => {
    pki = createTestPki();
    root = pki.ca("root");
  });
  afterAll(() => pki.cleanup());

  it("waits for every secret, shares one SecureContext across clusters, and rebuilds once per rotation", () => {
    const store = createSecretStore();
    const contexts = Array.from({ length: 50 }, (_, i) => createLiveTlsContext(spec(`outbound_.80_._.svc${i}`), store, quietLogger()));
    expect(contexts.every((c) => !c.ready())).toBe(true);
    expect(store.wanted(SRC.key)).toEqual(["ROOTCA", "default"]);
    const put = (uri: string, version: string) => {
      const leaf = pki.leaf(root, { uris: [uri] });
      const any = anyPack(SecretSchema, create(SecretSchema, { name: "default" }));
      store.set(SRC, "default", version, any, compileTlsCertificate({ certificateChain: { specifier: { case: "inlineString", value: leaf.certPem } }, privateKey: { specifier: { case: "inlineString", value: leaf.keyPem } } } as never, "default", "tls_certificate"));
    };
    put("spiffe://cluster.local/ns/a/sa/one", "1");
    expect(contexts.some((c) => c.ready())).toBe(false); // ROOTCA still missing
    store.set(SRC, "ROOTCA", "1", anyPack(SecretSchema, create(SecretSchema, { name: "ROOTCA" })), compileValidationContext({ trustedCa: { specifier: { case: "inlineString", value: root.certPem } }, matchSubjectAltNames: [], matchTypedSubjectAltNames: [], verifyCertificateSpki: [], verifyCertificateHash: [] } as never, "ROOTCA", "validation_context", () => {}));
    expect(contexts.every((c) => c.ready())).toBe(true);
    const first = contexts[0]!.current()!;
    expect(first.localUriSan).toBe("spiffe://cluster.local/ns/a/sa/one");
    expect(new Set(contexts.map((c) => c.current()!.secureContext)).size).toBe(1);
    put("spiffe://cluster.local/ns/a/sa/two", "2");
    expect(new Set(contexts.map((c) => c.current()!.secureContext)).size).toBe(1);
    expect(contexts[0]!.current()!.secureContext).not.toBe(first.secureContext);
    expect(contexts[49]!.current()!.localUriSan).toBe("spiffe://cluster.local/ns/a/sa/two");
    for (const c of contexts) c.release();
    expect(store.wanted(SRC.key)).toEqual([]);
  });
});
