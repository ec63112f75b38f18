// Gateway credentials end to end over ADS: the real directory source, push
// context, generators, cache and server, with the mesh CA's TLS port
// (startMeshCa, as the binary wires it) in front. A real gRPC client
// (connect-node over TLS, verifying the CA's serving certificate, with a
// workload token; xds-api's SotW and delta state machines, ACKing) plays the
// ingress gateway. Writing, editing and deleting the Secret's file is what
// moves the resources; the same gateway on the plaintext port gets nothing.
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { TypeUrl, type ClientUpdate } from "@weft/xds-api";
import { SecretSchema, type Secret } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDiscoveryApp, type DiscoveryAddresses, type DiscoveryApp, type PushEvent } from "../app/discovery-app.js";
import { startMeshCa, WORKLOADS_FILE, type MeshCa } from "../ca/start-mesh-ca.js";
import { createXdsGenerators } from "../generators/create-generators.js";
import { parseProxy } from "../push-context/parse-proxy.js";
import { createPushContextBuilder } from "../push-context/push-context.js";
import { createDirectorySource } from "../source/directory-source.js";
import { createAdsTestClient, grpcTransport, type AdsTestClient } from "../test-util/ads-test-client.js";
import { makeNode } from "../test-util/mesh-fixtures.js";
import { makeTestPki, secretYaml, type TestPki } from "../test-util/tls-fixtures.js";

const TOKEN = "gateway-token-0123456789abcdefghijklmnopqrstuvwxyz";
const CRED = "kubernetes://httpbin-credential";
const CACERT = "kubernetes://httpbin-credential-cacert";
const GATEWAY = { type: "router" as const, ip: "10.0.0.9", pod: "istio-ingressgateway-1", namespace: "istio-system", labels: { istio: "ingressgateway" } };

interface Gateway {
  client: AdsTestClient;
  /** Every SDS update, name → Secret. */
  updates: Array<{ secrets: Map<string, Secret>; removed: string[] }>;
}

const text = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString("utf8") : undefined);

describe("gateway credentials over ADS on the CA's TLS port", () => {
  let configDir: string;
  let caDir: string;
  let app: DiscoveryApp;
  let addrs: DiscoveryAddresses;
  let meshCa: MeshCa;
  let v1: TestPki;
  let v2: TestPki;
  const logLines: string[] = [];
  const pushes: PushEvent[] = [];

  const secretFile = () => join(configDir, "httpbin-credential.yaml");
  const writeSecret = (pki: TestPki) =>
    writeFileSync(secretFile(), secretYaml({ name: "httpbin-credential", type: "kubernetes.io/tls", data: { "tls.crt": pki.serverCertPem, "tls.key": pki.serverKeyPem, "ca.crt": pki.caPem } }));

  beforeAll(async () => {
    [v1, v2] = await Promise.all([makeTestPki(), makeTestPki()]);
    configDir = mkdtempSync(join(tmpdir(), "weft-sds-config-"));
    caDir = mkdtempSync(join(tmpdir(), "weft-sds-ca-"));
    writeFileSync(join(caDir, WORKLOADS_FILE), JSON.stringify({ [TOKEN]: { namespace: "istio-system", serviceAccount: "istio-ingressgateway-service-account" } }), { mode: 0o600 });
    writeSecret(v1);
    const logger = pino({ level: "debug" }, { write: (line: string) => void logLines.push(line) });
    app = createDiscoveryApp({
      source: createDirectorySource({ dir: configDir, logger, pollMs: 100, coalesceMs: 10 }),
      pushContextBuilder: createPushContextBuilder(),
      generators: createXdsGenerators({ logger }),
      parseProxy,
      logger,
      grpcAddr: "127.0.0.1:0",
      httpAddr: "127.0.0.1:0",
      debounce: { quietMs: 20, maxMs: 200 },
    });
    app.onPush((e) => pushes.push(e));
    addrs = await app.start();
    meshCa = await startMeshCa({ caDir, caAddr: "127.0.0.1:0", trustDomain: "cluster.local", domain: "cluster.local", extraRoutes: (r) => app.server.routes(r), logger });
  });

  afterAll(async () => {
    await meshCa?.close();
    await app?.close();
    rmSync(configDir, { recursive: true, force: true });
    rmSync(caDir, { recursive: true, force: true });
  });

  function tlsTransport(token: string) {
    return createGrpcTransport({
      baseUrl: `https://127.0.0.1:${meshCa.server.port}`,
      nodeOptions: { ca: meshCa.ca.rootCertPem() },
      interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))],
    });
  }

  function connect(transport: ReturnType<typeof tlsTransport>, mode: "sotw" | "delta", ns = GATEWAY.namespace, pod = GATEWAY.pod): Gateway {
    const updates: Gateway["updates"] = [];
    const onUpdate = (u: ClientUpdate) => {
      if (u.typeUrl !== TypeUrl.Secret) return;
      updates.push({ secrets: new Map(u.resources.map((r) => [r.name, anyUnpack(r.resource, SecretSchema)!])), removed: u.removed });
    };
    const client = createAdsTestClient({ transport, node: makeNode({ ...GATEWAY, namespace: ns, pod }), mode, onUpdate });
    client.subscribe(TypeUrl.Secret, [CRED, CACERT]);
    return { client, updates };
  }

  const certOf = (s: Secret | undefined) => (s?.type.case === "tlsCertificate" ? text(s.type.value.certificateChain?.specifier.value as Uint8Array) : undefined);
  const keyOf = (s: Secret | undefined) => (s?.type.case === "tlsCertificate" ? text(s.type.value.privateKey?.specifier.value as Uint8Array) : undefined);
  const caOf = (s: Secret | undefined) => (s?.type.case === "validationContext" ? text(s.type.value.trustedCa?.specifier.value as Uint8Array) : undefined);

  const httpGet = (path: string) =>
    new Promise<string>((resolve, reject) => {
      request(`http://${addrs.http}${path}`, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve(body));
      })
        .on("error", reject)
        .end();
    });

  it("serves the Secret, pushes its change as an SDS-only push, and removes it when it is deleted", async () => {
    const sotw = connect(tlsTransport(TOKEN), "sotw");
    const delta = connect(tlsTransport(TOKEN), "delta");
    const plain = connect(grpcTransport(addrs.grpc), "sotw", GATEWAY.namespace, "istio-ingressgateway-2");
    try {
      // Waiters set before any answer can arrive: every stream's first SDS response.
      await Promise.all([sotw, delta, plain].map((gw) => (gw.updates.length > 0 ? undefined : gw.client.next((r) => r.typeUrl === TypeUrl.Secret))));

      for (const gw of [sotw, delta]) {
        const first = gw.updates[0]!.secrets;
        expect([...first.keys()].sort()).toEqual([CRED, CACERT]);
        expect([certOf(first.get(CRED)), keyOf(first.get(CRED)), caOf(first.get(CACERT))]).toEqual([v1.serverCertPem, v1.serverKeyPem, v1.caPem]);
      }
      // The plaintext port: an answer with no resource, and one warning for the stream that says what to do.
      expect(plain.updates[0]!.secrets.size).toBe(0);
      const warnings = () => logLines.filter((l) => l.includes("asked for SDS credentials on an unauthenticated stream"));
      expect(warnings()).toHaveLength(1);
      expect(JSON.parse(warnings()[0]!).msg).toMatch(/connect over the CA's TLS port \(--ca-addr, istiod's 15012\) with a workload token$/);

      // Debug pages show the certificate but never the key.
      const dump = await httpGet(`/debug/config_dump?proxyID=${GATEWAY.pod}.${GATEWAY.namespace}`);
      expect(dump).toContain('"[redacted]"');
      expect(dump).toContain(Buffer.from(v1.serverCertPem).toString("base64"));
      for (const body of [dump, await httpGet("/debug/configz"), await httpGet("/debug/syncz")]) {
        expect(body).not.toContain(Buffer.from(v1.serverKeyPem).toString("base64").slice(0, 40));
        expect(body).not.toContain(v1.serverKeyPem.split("\n")[1]!);
      }

      // A new certificate: both authenticated gateways get it, in a push that is not full.
      const pushesBefore = pushes.length;
      writeSecret(v2);
      const isV2 = (gw: Gateway) => () => certOf(gw.updates.at(-1)?.secrets.get(CRED)) === v2.serverCertPem;
      // Both waits are set at once: the second stream's push may land while the first is awaited.
      await Promise.all([sotw, delta].map((gw) => (isV2(gw)() ? undefined : gw.client.next(isV2(gw)))));
      expect(keyOf(sotw.updates.at(-1)!.secrets.get(CRED))).toBe(v2.serverKeyPem);
      expect(caOf(sotw.updates.at(-1)!.secrets.get(CACERT))).toBe(v2.caPem);
      expect(pushes.slice(pushesBefore).map((p) => p.full)).toEqual([false]);
      expect(plain.updates.every((u) => u.secrets.size === 0)).toBe(true);

      // Deleted: the delta stream is told both names are gone; SotW cannot say so for SDS (it keeps what it has, as Envoy).
      unlinkSync(secretFile());
      const removed = () => (delta.updates.at(-1)?.removed.length ?? 0) > 0;
      if (!removed()) await delta.client.next(removed);
      expect(delta.updates.at(-1)!.removed.sort()).toEqual([CRED, CACERT]);
    } finally {
      for (const gw of [sotw, delta, plain]) gw.client.close();
    }
  });

  it("refuses a token for another namespace and never serves that namespace's Secret", async () => {
    // The token is istio-system's; a node claiming prod is refused by the TLS port's identity check.
    const gw = connect(tlsTransport(TOKEN), "sotw", "prod");
    try {
      const error = await gw.client.ended;
      expect(error?.message).toMatch(/authenticated namespace istio-system does not match proxy namespace prod/);
      expect(gw.updates).toEqual([]);
    } finally {
      gw.client.close();
    }
  });

  it("refuses a stream without a valid token", async () => {
    const gw = connect(tlsTransport("z".repeat(48)), "sotw");
    try {
      expect((await gw.client.ended)?.message).toMatch(/authentication failed/);
      expect(gw.updates).toEqual([]);
    } finally {
      gw.client.close();
    }
  });
});
