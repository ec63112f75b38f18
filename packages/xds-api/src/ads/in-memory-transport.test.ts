import { describe, expect, it } from "vitest";
import { TypeUrl } from "../type-urls.js";
import { clusters, testNode } from "../test-util/ads-fixtures.js";
import type { DiscoveryRequest, DiscoveryResponse } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { createInMemoryStream } from "./in-memory-transport.js";
import { createSotwClient } from "./sotw-client.js";
import { createSotwServerStream } from "./sotw-server-stream.js";

describe("createInMemoryStream()", () => {
  it("carries a whole SotW exchange between a client loop and a server loop", async () => {
    const { client: clientEnd, server: serverEnd } = createInMemoryStream<DiscoveryRequest, DiscoveryResponse>();
    const server = createSotwServerStream();
    const events: string[] = [];
    const serverLoop = (async () => {
      for await (const request of serverEnd) {
        const event = server.receive(request);
        events.push(event.kind);
        const response = server.respond(request.typeUrl, clusters("v1", "a"));
        if (response) serverEnd.send(response);
      }
      serverEnd.close();
    })();

    const client = createSotwClient(testNode);
    clientEnd.send(client.subscribe(TypeUrl.Cluster, "*")!);
    const push = (await clientEnd.next())!;
    let names: string[] = [];
    clientEnd.send(await client.receive(push, (u) => void (names = u.resources.map((r) => r.name))));
    clientEnd.close();
    await serverLoop;
    expect(names).toEqual(["a"]);
    expect(events).toEqual(["subscribe", "ack"]);
    expect(await clientEnd.next()).toBeUndefined();
  });
});
