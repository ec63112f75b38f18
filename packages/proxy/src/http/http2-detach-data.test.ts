// A held DATA chunk must not keep the whole socket read it arrived in
// (http2-detach-data.ts). A raw client sends one stalled stream one byte of
// DATA per ~48 KiB write, the rest unknown-type frames that nghttp2 drops:
// without the copy, 3 000 held bytes pinned 94–115 MiB of read buffers.
import * as http from "node:http";
import type * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Flag, FrameType, frame, h2connect, hpack, requestHeaders, type H2Conn } from "../test-util/h2-frames.js";
import { heldArrayBuffers } from "../test-util/held-buffers.js";
import { settled } from "../test-util/settled.js";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";

const MiB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const held = heldArrayBuffers;

describe("held HTTP/2 DATA does not pin socket reads", () => {
  let h: Harness;
  let sink: http.Server;
  const sockets = new Set<net.Socket>();
  const conns: H2Conn[] = [];

  beforeAll(async () => {
    // Reads request heads, never bodies; one upstream connection, so later requests queue unread.
    sink = http.createServer((req) => req.pause());
    sink.on("connection", (c: net.Socket) => {
      sockets.add(c);
      c.once("close", () => sockets.delete(c));
    });
    await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
    h = await startRuntime({
      clusters: [staticCluster("sink", [(sink.address() as net.AddressInfo).port], { circuit_breakers: { thresholds: [{ max_connections: 1 }] } })],
      listeners: [httpListener("h2", [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "sink", timeout: "0s" } }] }])],
    });
  });
  afterAll(async () => {
    for (const c of conns) c.socket.destroy();
    await h?.close();
    for (const s of sockets) s.destroy();
    sink?.close();
  });

  it("keeps 3 000 one-byte chunks sent in 3 000 reads at about their size", async () => {
    const port = h.port("h2");
    // One request takes the upstream connection; the stream under test then waits in the queue.
    const first = await h2connect(port);
    conns.push(first);
    first.write(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, hpack(requestHeaders(port, "/first", "POST"))));
    await sleep(200);
    const base = await settled(held, { tolerance: 32 * 1024, quietMs: 500 });

    const conn = await h2connect(port);
    conns.push(conn);
    await conn.waitFor((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0);
    conn.write(frame(FrameType.SETTINGS, Flag.ACK, 0));
    conn.write(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, hpack(requestHeaders(port, "/stalled", "POST"))));
    // An unknown frame type must be ignored (RFC 9113 §4.1): 3 × 16 000 bytes of filler per byte of DATA.
    const filler = frame(0xfa, 0, 0, Buffer.alloc(16_000, 0x6a));
    const unit = Buffer.concat([frame(FrameType.DATA, 0, 1, Buffer.from("x")), filler, filler, filler]);
    for (let i = 0; i < 3000 && !conn.isClosed(); i++) {
      conn.write(unit);
      // One write per socket read on the proxy's side (mostly: the proxy reads what has arrived).
      await sleep(1);
    }
    // Wait until this client's own queue has gone out, so only the proxy's holdings are measured.
    for (let i = 0; i < 200 && conn.socket.writableLength > 0; i++) await sleep(50);
    const grown = (await settled(held, { tolerance: 32 * 1024, quietMs: 500 })) - base;
    if (process.env.WEFT_TEST_VERBOSE === "1") console.log(`3000 held bytes cost ${(grown / MiB).toFixed(2)} MiB`);
    expect(conn.isClosed()).toBe(false);
    // 137 MiB sent; the 3 000 held bytes were 94–115 MiB of pinned reads before the copy, 0.02 MiB after.
    expect(grown).toBeLessThan(4 * MiB);
  }, 60_000);
});
