// A misbehaving client on a raw HTTP/2 connection (no gRPC library) must get
// a gRPC error on its own stream while a well-behaved proxy keeps receiving
// pushes on another connection.
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { TypeUrl } from "@weft/xds-api";
import { DiscoveryRequestSchema } from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb.js";
import { afterEach, describe, expect, it } from "vitest";
import { createAdsTestClient, grpcTransport, testNode, type AdsTestClient } from "../test-util/ads-test-client.js";
import { clusterNameOf, endpointChange, fqdnOf, type FakeService } from "../test-util/fake-mesh.js";
import { startFakeApp, type FakeApp } from "../test-util/fake-app.js";

const PATH = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";
const svc: FakeService = { name: "a", namespace: "ns1", port: 80, endpoints: ["10.0.0.1"] };

function frame(payload: Uint8Array, declaredLength = payload.length): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(0, 0);
  header.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([header, Buffer.from(payload)]);
}

/** Sends `body` on one raw stream and returns the grpc-status and grpc-message the server ends it with. */
function rawCall(addr: string, body: Buffer): Promise<{ status: string | undefined; message: string | undefined }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${addr}`);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": PATH, "content-type": "application/grpc", te: "trailers" });
    let headers: http2.IncomingHttpHeaders = {};
    stream.on("response", (h) => (headers = h));
    stream.on("trailers", (t) => (headers = { ...headers, ...t }));
    stream.on("data", () => undefined);
    stream.on("error", reject);
    stream.on("close", () => {
      session.close();
      resolve({ status: headers["grpc-status"] as string | undefined, message: headers["grpc-message"] as string | undefined });
    });
    stream.end(body);
  });
}

let fake: FakeApp;
let good: AdsTestClient;

afterEach(async () => {
  good?.close();
  await fake?.close();
});

describe("garbage clients", () => {
  it("get an error on their own stream and nobody else notices", async () => {
    fake = await startFakeApp([svc]);
    good = createAdsTestClient({ transport: grpcTransport(fake.addrs.grpc), node: testNode("sidecar~10.1.0.1~p1.ns1~ns1.svc.cluster.local") });
    good.subscribe(TypeUrl.Cluster, "*");
    await good.next((r) => r.typeUrl === TypeUrl.Cluster);
    good.subscribe(TypeUrl.ClusterLoadAssignment, [clusterNameOf(svc)]);
    await good.next((r) => r.typeUrl === TypeUrl.ClusterLoadAssignment);

    const unknownType = toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, {
      node: { id: "sidecar~10.1.0.2~p2.ns1~ns1.svc.cluster.local" },
      typeUrl: "type.googleapis.com/made.up.Resource",
    }));
    const cases: Array<[string, Buffer, RegExp]> = [
      ["undecodable protobuf", frame(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])), /cannot decode request/],
      ["a frame shorter than it declares", frame(new Uint8Array([1, 2, 3]), 1000), /incomplete envelope/],
      ["three stray bytes", Buffer.from([0x00, 0x01, 0x02]), /incomplete envelope/],
      ["an unknown type URL", frame(unknownType), /unknown type URL/],
    ];
    for (const [what, body, message] of cases) {
      const result = await rawCall(fake.addrs.grpc, body);
      expect(result.status, what).toBeDefined();
      expect(result.status, what).toBe("3"); // INVALID_ARGUMENT
      expect(decodeURIComponent(result.message ?? ""), what).toMatch(message);
    }
    expect(fake.app.server.connections()).toHaveLength(1);

    // The good proxy still gets pushes.
    fake.setServices([{ ...svc, endpoints: ["10.0.0.2"] }], endpointChange(fqdnOf(svc)));
    await good.next((r) => r.typeUrl === TypeUrl.ClusterLoadAssignment);
  });
});
