import { describe, expect, it } from "vitest";
import { TypeUrl } from "../type-urls.js";
import { assignments, clusters, testNode } from "../test-util/ads-fixtures.js";
import { createSotwClient } from "./sotw-client.js";
import { createSotwServerStream } from "./sotw-server-stream.js";
import type { ClientUpdate } from "./client-update.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;

function setup() {
  const client = createSotwClient(testNode);
  const server = createSotwServerStream();
  const applied: ClientUpdate[] = [];
  const accept = (u: ClientUpdate) => void applied.push(u);
  return { client, server, applied, accept };
}

describe("SotW ADS", () => {
  it("sends the node on the first request, then ACKs an accepted push", async () => {
    const { client, server, applied, accept } = setup();
    const first = client.subscribe(CDS, "*")!;
    expect(first.node?.id).toBe(testNode.id);
    expect(server.receive(first)).toMatchObject({ kind: "subscribe", wildcard: true });

    const push = server.respond(CDS, clusters("v1", "a", "b"))!;
    expect(push.versionInfo).toBe("v1");
    expect(push.resources).toHaveLength(2);

    const ack = await client.receive(push, accept);
    expect(ack.node).toBeUndefined();
    expect(ack).toMatchObject({ versionInfo: "v1", responseNonce: push.nonce });
    expect(ack.errorDetail).toBeUndefined();
    expect(applied[0].resources.map((r) => r.name)).toEqual(["a", "b"]);
    expect(server.receive(ack)).toMatchObject({ kind: "ack", version: "v1" });
    expect(server.respond(CDS, clusters("v1", "a", "b"))).toBeUndefined();
    expect(server.status()[0]).toMatchObject({ sentVersion: "v1", ackedVersion: "v1" });
  });

  it("NACK keeps the old version, carries the reason, and the rejected version is not re-pushed", async () => {
    const { client, server, accept } = setup();
    server.receive(client.subscribe(CDS, "*")!);
    server.receive(await client.receive(server.respond(CDS, clusters("v1", "a"))!, accept));

    const bad = server.respond(CDS, clusters("v2", "a", "broken"))!;
    const nack = await client.receive(bad, (u) => {
      if (u.resources.some((r) => r.name === "broken")) throw new Error("broken: connect_timeout: must be positive");
    });
    expect(nack.versionInfo).toBe("v1");
    expect(nack.responseNonce).toBe(bad.nonce);
    expect(nack.errorDetail).toMatchObject({ code: 3, message: "broken: connect_timeout: must be positive" });
    expect(server.receive(nack)).toMatchObject({ kind: "nack", version: "v2", message: expect.stringContaining("broken") });
    expect(server.status()[0].lastNack?.message).toContain("connect_timeout");

    expect(server.respond(CDS, clusters("v2", "a", "broken"))).toBeUndefined();
    const fixed = server.respond(CDS, clusters("v3", "a", "fixed"))!;
    expect(fixed.versionInfo).toBe("v3");
    expect(client.status()[0]).toMatchObject({ acceptedVersion: "v1", lastError: expect.stringContaining("broken") });
  });

  it("ignores a request answering an older nonce", async () => {
    const { client, server, accept } = setup();
    server.receive(client.subscribe(CDS, "*")!);
    const r1 = server.respond(CDS, clusters("v1", "a"))!;
    const r2 = server.respond(CDS, clusters("v2", "a", "b"))!;
    expect(server.receive(await client.receive(r1, accept))).toMatchObject({ kind: "stale", nonce: r1.nonce });
    expect(server.receive(await client.receive(r2, accept))).toMatchObject({ kind: "ack", version: "v2" });
  });

  it("reports LDS/CDS resources missing from a push as removed, but not EDS ones", async () => {
    const { client, server, applied, accept } = setup();
    server.receive(client.subscribe(CDS, "*")!);
    server.receive(await client.receive(server.respond(CDS, clusters("v1", "a", "b"))!, accept));
    await client.receive(server.respond(CDS, clusters("v2", "b"))!, accept);
    expect(applied[1]).toMatchObject({ stateOfTheWorld: true, removed: ["a"] });

    server.receive(client.subscribe(EDS, ["a", "b"])!);
    server.receive(await client.receive(server.respond(EDS, assignments("e1", "a", "b"))!, accept));
    await client.receive(server.respond(EDS, assignments("e2", "b"))!, accept);
    expect(applied[3]).toMatchObject({ stateOfTheWorld: false, removed: [] });
  });

  it("answers named subscriptions with just those names and re-sends when they change", async () => {
    const { client, server, accept } = setup();
    server.receive(client.subscribe(EDS, ["x"])!);
    const snapshot = assignments("e1", "x", "y", "z");
    const first = server.respond(EDS, snapshot)!;
    expect(first.resources).toHaveLength(1);
    server.receive(await client.receive(first, accept));
    expect(client.subscribe(EDS, ["x"])).toBeUndefined();
    const change = client.subscribe(EDS, ["x", "y"])!;
    expect(change.resourceNames).toEqual(["x", "y"]);
    expect(server.receive(change)).toMatchObject({ kind: "ack", subscriptionChanged: true });
    expect(server.respond(EDS, snapshot)!.resources).toHaveLength(2);
  });

  it("resumes after a reconnect with the node and the versions it holds", async () => {
    const { client, server, accept } = setup();
    server.receive(client.subscribe(CDS, "*")!);
    client.subscribe(EDS, ["a"]);
    await client.receive(server.respond(CDS, clusters("v7", "a"))!, accept);

    const resumed = client.reconnect();
    expect(resumed.map((r) => r.typeUrl)).toEqual([CDS, EDS]);
    expect(resumed[0]).toMatchObject({ versionInfo: "v7", responseNonce: "" });
    expect(resumed[0].node?.id).toBe(testNode.id);
    expect(resumed[1].node).toBeUndefined();

    const fresh = createSotwServerStream();
    expect(fresh.receive(resumed[0])).toMatchObject({ kind: "subscribe", resumedVersion: "v7" });
    // A new stream always answers the first request, so the client's init completes.
    expect(fresh.respond(CDS, clusters("v7", "a"))?.versionInfo).toBe("v7");
  });

  it("rejects a request without a type URL without touching other types", () => {
    const { client, server } = setup();
    server.receive(client.subscribe(CDS, "*")!);
    const bogus = client.subscribe("", "*")!;
    expect(server.receive(bogus)).toMatchObject({ kind: "invalid" });
    expect(server.respond(CDS, clusters("v1", "a"))).toBeDefined();
  });
});
