import { describe, expect, it } from "vitest";
import { encodePeerExchange } from "../istio/peer-exchange-wire.js";
import type { WorkloadMetadata } from "../istio/peer-metadata.js";
import { createPeerExchangeReader } from "./peer-exchange-reader.js";

const HEADER = encodePeerExchange({ id: "sidecar~10.0.0.9~sleep-1.ns~ns.svc.cluster.local", metadata: { NAMESPACE: "ns", WORKLOAD_NAME: "sleep", LABELS: { app: "sleep", version: "v2" } } });

function run(chunks: Buffer[], maxPayload?: number) {
  const calls: Array<[WorkloadMetadata | undefined, number]> = [];
  const r = createPeerExchangeReader((peer, consumed) => calls.push([peer, consumed]), maxPayload);
  const out: Buffer[] = [];
  for (const c of chunks) {
    const o = r.feed(c);
    if (o) out.push(o);
  }
  return { r, calls, out: () => Buffer.concat(out).toString("latin1"), end: () => r.end()?.toString("latin1") };
}

describe("createPeerExchangeReader()", () => {
  it("takes the peer's header off the stream, however it is split, and passes the rest on", () => {
    const stream = Buffer.concat([HEADER, Buffer.from("hello")]);
    for (const cut of [1, 3, 8, 9, HEADER.length - 1, HEADER.length, HEADER.length + 2]) {
      const t = run([stream.subarray(0, cut), stream.subarray(cut)]);
      expect(t.out()).toBe("hello");
      expect(t.calls).toEqual([[expect.objectContaining({ workloadName: "sleep", appName: "sleep", appVersion: "v2" }), HEADER.length]]);
      expect(t.r.done).toBe(true);
    }
  });

  it("hands later chunks back untouched once decided", () => {
    const t = run([HEADER]);
    const chunk = Buffer.from("x");
    expect(t.r.feed(chunk)).toBe(chunk);
  });

  it("passes a peer's data on as it is when it does not start with the magic, deciding on the first byte", () => {
    const t = run([Buffer.from("G")]);
    expect(t.out()).toBe("G");
    expect(t.calls).toEqual([[undefined, 0]]);
    const u = run([Buffer.from([0x3d, 0x23, 0x05]), Buffer.from("rest")]);
    expect(u.out()).toBe("\x3d\x23\x05rest");
    expect(u.calls).toEqual([[undefined, 0]]);
  });

  it("removes a payload that does not decode, and the peer is unknown", () => {
    const bad = Buffer.from([0x3d, 0x23, 0x04, 0x67, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0x41]);
    const t = run([bad]);
    expect(t.out()).toBe("A");
    expect(t.calls).toEqual([[undefined, 11]]);
  });

  it("does not buffer a declared payload beyond the bound: unknown peer, the stream continues after the header", () => {
    const big = Buffer.from([0x3d, 0x23, 0x04, 0x67, 0xff, 0xff, 0xff, 0xff, 0x42]);
    const t = run([big]);
    expect(t.out()).toBe("B");
    expect(t.calls).toEqual([[undefined, 8]]);
    const small = run([HEADER], HEADER.length - 9);
    expect(small.calls).toEqual([[undefined, 8]]);
  });

  it("gives a held partial header back at end of stream, but never a started payload", () => {
    const t = run([Buffer.from([0x3d, 0x23])]);
    expect(t.out()).toBe("");
    expect(t.end()).toBe("\x3d\x23");
    expect(t.calls).toEqual([[undefined, 0]]);
    const u = run([HEADER.subarray(0, 12)]);
    expect(u.end()).toBeUndefined();
  });
});
