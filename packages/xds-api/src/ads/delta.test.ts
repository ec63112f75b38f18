import { describe, expect, it } from "vitest";
import { TypeUrl } from "../type-urls.js";
import { clusters, testNode } from "../test-util/ads-fixtures.js";
import { createDeltaClient } from "./delta-client.js";
import { createDeltaServerStream } from "./delta-server-stream.js";
import type { ClientUpdate } from "./client-update.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;

function setup() {
  const client = createDeltaClient(testNode);
  const server = createDeltaServerStream();
  const applied: ClientUpdate[] = [];
  return { client, server, applied, accept: (u: ClientUpdate) => void applied.push(u) };
}

describe("delta ADS", () => {
  it("sends only additions, changes and removals", async () => {
    const { client, server, applied, accept } = setup();
    const sub = client.subscribe(CDS, "*")!;
    expect(sub.resourceNamesSubscribe).toEqual(["*"]);
    expect(server.receive(sub)).toMatchObject({ kind: "subscribe", wildcard: true });

    const first = server.respond(CDS, clusters("s1", "a@1", "b@1"))!;
    expect(first.resources.map((r) => r.name)).toEqual(["a", "b"]);
    expect(server.receive(await client.receive(first, accept))).toMatchObject({ kind: "ack" });

    expect(server.respond(CDS, clusters("s2", "a@1", "b@1"))).toBeUndefined();
    const second = server.respond(CDS, clusters("s3", "b@2", "c@1"))!;
    expect(second.resources.map((r) => `${r.name}@${r.version}`)).toEqual(["b@2", "c@1"]);
    expect(second.removedResources).toEqual(["a"]);
    await client.receive(second, accept);
    expect(applied[1]).toMatchObject({ removed: ["a"], stateOfTheWorld: false });
  });

  it("on NACK forgets what the client refused and does not send it again until it changes", async () => {
    const { client, server, accept } = setup();
    server.receive(client.subscribe(CDS, "*")!);
    server.receive(await client.receive(server.respond(CDS, clusters("s1", "a@1"))!, accept));

    const bad = server.respond(CDS, clusters("s2", "a@1", "c@1"))!;
    const nack = await client.receive(bad, () => {
      throw new Error("c: type: EDS cluster without eds_cluster_config");
    });
    expect(nack.errorDetail?.message).toContain("eds_cluster_config");
    expect(server.receive(nack)).toMatchObject({ kind: "nack", message: expect.stringContaining("c:") });
    expect(server.respond(CDS, clusters("s2", "a@1", "c@1"))).toBeUndefined();
    const fixed = server.respond(CDS, clusters("s3", "a@1", "c@2"))!;
    expect(fixed.resources.map((r) => `${r.name}@${r.version}`)).toEqual(["c@2"]);
  });

  it("ignores responses to unknown nonces", async () => {
    const { client, server } = setup();
    server.receive(client.subscribe(CDS, "*")!);
    server.respond(CDS, clusters("s1", "a@1"));
    const forged = client.subscribe(EDS, ["x"])!;
    forged.typeUrl = CDS;
    forged.resourceNamesSubscribe = [];
    forged.responseNonce = "not-a-nonce";
    expect(server.receive(forged)).toMatchObject({ kind: "stale" });
  });

  it("follows subscribe and unsubscribe of named resources", async () => {
    const { client, server, applied, accept } = setup();
    server.receive(client.subscribe(EDS, ["x"])!);
    const snapshot = clusters("e1", "x@1", "y@1");
    server.receive(await client.receive(server.respond(EDS, snapshot)!, accept));
    expect(applied[0].resources.map((r) => r.name)).toEqual(["x"]);

    const change = client.subscribe(EDS, ["y"])!;
    expect(change).toMatchObject({ resourceNamesSubscribe: ["y"], resourceNamesUnsubscribe: ["x"] });
    server.receive(change);
    const next = server.respond(EDS, snapshot)!;
    expect(next.resources.map((r) => r.name)).toEqual(["y"]);
    expect(next.removedResources).toEqual([]);
  });

  it("resumes after a reconnect from initial_resource_versions, sending only what changed", async () => {
    const { client, server, accept } = setup();
    server.receive(client.subscribe(CDS, "*")!);
    server.receive(await client.receive(server.respond(CDS, clusters("s1", "a@1", "b@1"))!, accept));

    const [resume] = client.reconnect();
    expect(resume.node?.id).toBe(testNode.id);
    expect(resume.initialResourceVersions).toEqual({ a: "1", b: "1" });
    expect(resume.resourceNamesSubscribe).toEqual(["*"]);

    const fresh = createDeltaServerStream();
    fresh.receive(resume);
    const same = fresh.respond(CDS, clusters("s9", "a@1", "b@1"))!;
    expect(same.resources).toEqual([]);
    expect(same.removedResources).toEqual([]);

    const [again] = client.reconnect();
    const other = createDeltaServerStream();
    other.receive(again);
    const changed = other.respond(CDS, clusters("s10", "b@2"))!;
    expect(changed.resources.map((r) => r.name)).toEqual(["b"]);
    expect(changed.removedResources).toEqual(["a"]);
  });
});
