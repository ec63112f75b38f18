// Extra services on the CA's TLS port (istiod's XDS on 15012) need a credential.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AggregatedDiscoveryService } from "@weft/xds-api/gen/envoy/service/discovery/v3/ads_pb.js";
import { DiscoveryRequestSchema, DiscoveryResponseSchema, type DiscoveryResponse } from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb.js";
import { createCaServer, type CaServer } from "./ca-server.js";
import { createCertificateAuthority, type CertificateAuthority } from "./certificate-authority.js";
import { createLocalAuthenticator } from "./local-authenticator.js";
import { xdsNamespaceMismatch } from "./start-mesh-ca.js";
import { silentLogger } from "./ca-test-util.js";

const TOKEN = "xds-token-0123456789abcdefghijklmnopqrstuvwxyz";
let dir: string;
let ca: CertificateAuthority;
let server: CaServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-ca-xds-"));
  await writeFile(join(dir, "workloads.json"), JSON.stringify({ [TOKEN]: { namespace: "default", serviceAccount: "sleep" } }));
  ca = await createCertificateAuthority({ caDir: dir, keyAlgorithm: "ecdsa-p256", rootCheckIntervalMs: 0, logger: silentLogger });
  server = await createCaServer({
    ca,
    authenticators: [createLocalAuthenticator({ credentialsFile: join(dir, "workloads.json"), logger: silentLogger })],
    addr: "127.0.0.1:0",
    logger: silentLogger,
    streamIdentityCheck: (caller, m) => xdsNamespaceMismatch(caller, m, "cluster.local"),
    extraRoutes: (router) =>
      router.service(AggregatedDiscoveryService, {
        async *streamAggregatedResources(requests) {
          for await (const r of requests) yield { typeUrl: r.typeUrl, versionInfo: "v1", nonce: "1" };
        },
        async *deltaAggregatedResources() {
          return;
        },
      }),
  });
});
afterAll(async () => {
  await server?.close();
  ca?.close();
  await rm(dir, { recursive: true, force: true });
});

function ads(token?: string, nodeId = "sidecar~127.0.0.1~sleep-1.default~default.svc.cluster.local"): Promise<DiscoveryResponse> {
  const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createSsl(Buffer.from(ca.rootCertPem())));
  const md = new grpc.Metadata();
  if (token) md.set("authorization", `Bearer ${token}`);
  const call = client.makeBidiStreamRequest(
    "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
    (m: MessageInitShape<typeof DiscoveryRequestSchema>) => Buffer.from(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, m))),
    (b: Buffer) => fromBinary(DiscoveryResponseSchema, b),
    md,
  );
  return new Promise((resolve, reject) => {
    call.on("data", (r: DiscoveryResponse) => {
      call.end();
      client.close();
      resolve(r);
    });
    call.on("error", (e) => {
      client.close();
      reject(e);
    });
    call.write({ node: { id: nodeId }, typeUrl: "type.googleapis.com/envoy.config.cluster.v3.Cluster" });
  });
}

describe("createCaServer({ extraRoutes })", () => {
  it("serves ADS over TLS to a caller with a valid token", async () => {
    expect((await ads(TOKEN)).versionInfo).toBe("v1");
  });

  it.each([undefined, "z".repeat(40)])("refuses ADS without a valid token (%s)", async (token) => {
    const err = (await ads(token).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it("refuses a stream whose node is in another namespace than the token's workload", async () => {
    const err = (await ads(TOKEN, "sidecar~127.0.0.1~httpbin-1.prod~prod.svc.cluster.local").catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toBe("authenticated namespace default does not match proxy namespace prod");
  });

  it("refuses a stream whose first request has no node", async () => {
    const err = (await ads(TOKEN, "").catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
  });
});
