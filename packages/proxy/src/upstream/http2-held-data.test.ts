// A response chunk from an HTTP/2 upstream must not keep the whole socket read
// it arrived in while it waits for a slow client (http/http2-detach-data.ts).
// A raw upstream answers with one byte of DATA per ~48 KiB write, the rest
// unknown-type frames that nghttp2 drops; the client has opened no flow-control
// window, so every byte waits in the proxy. Without the copy, 3 000 held bytes
// pinned ≈ 140 MiB of read buffers.
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Flag, FrameType, PREFACE, frame, h2connect, hpack, requestHeaders, type H2Conn } from "../test-util/h2-frames.js";
import { heldArrayBuffers } from "../test-util/held-buffers.js";
import { settled } from "../test-util/settled.js";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";

const MiB = 1024 * 1024;
const BYTES = 3000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** SETTINGS_INITIAL_WINDOW_SIZE = 0: the proxy may send this client headers, never DATA. */
const ZERO_WINDOW = frame(FrameType.SETTINGS, 0, 0, Buffer.from([0x00, 0x04, 0, 0, 0, 0]));

/**
 * A raw HTTP/2 server: answers the first request with a 200 and then `BYTES` DATA frames of one
 * byte, each written alone with 48 000 bytes of unknown-type frames behind it.
 */
function startDribblingUpstream(): Promise<{ server: net.Server; port: number; sent: Promise<number>; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  let reportSent!: (n: number) => void;
  const sent = new Promise<number>((r) => (reportSent = r));
  const filler = frame(0xfa, 0, 0, Buffer.alloc(16_000, 0x6a));
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.write(frame(FrameType.SETTINGS, 0, 0));
    let buf = Buffer.alloc(0);
    let prefaceSeen = false;
    let answered = false;
    socket.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!prefaceSeen) {
        if (buf.length < PREFACE.length) return;
        buf = buf.subarray(PREFACE.length);
        prefaceSeen = true;
      }
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3];
        const flags = buf[4]!;
        const streamId = buf.readUInt32BE(5) & 0x7fffffff;
        buf = buf.subarray(9 + len);
        if (type === FrameType.SETTINGS && (flags & Flag.ACK) === 0) socket.write(frame(FrameType.SETTINGS, Flag.ACK, 0));
        if (type === FrameType.HEADERS && !answered) {
          answered = true;
          void dribble(socket, streamId, filler).then(reportSent);
        }
      }
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as net.AddressInfo).port, sent, sockets })));
}

async function dribble(socket: net.Socket, streamId: number, filler: Buffer): Promise<number> {
  socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS, streamId, hpack([[":status", "200"]])));
  const unit = Buffer.concat([frame(FrameType.DATA, 0, streamId, Buffer.from("x")), filler, filler, filler]);
  let n = 0;
  for (; n < BYTES && !socket.destroyed; n++) {
    socket.write(unit);
    // One write per socket read on the proxy's side (mostly: the proxy reads what has arrived).
    await sleep(1);
  }
  // Until this side's own queue has gone out, so only the proxy's holdings are measured.
  for (let i = 0; i < 200 && socket.writableLength > 0; i++) await sleep(50);
  return n;
}

describe("held HTTP/2 response DATA does not pin the upstream's socket reads", () => {
  let h: Harness;
  let upstream: Awaited<ReturnType<typeof startDribblingUpstream>>;
  let client: H2Conn | undefined;

  beforeAll(async () => {
    upstream = await startDribblingUpstream();
    h = await startRuntime({
      clusters: [
        staticCluster("h2up", [upstream.port], {
          typed_extension_protocol_options: {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
              "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
        }),
      ],
      listeners: [httpListener("in", [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "h2up", timeout: "0s" } }] }])],
    });
  });
  afterAll(async () => {
    client?.socket.destroy();
    await h?.close();
    for (const s of upstream?.sockets ?? []) s.destroy();
    upstream?.server.close();
  });

  it("keeps 3 000 one-byte chunks that arrived in 3 000 reads at about their size", async () => {
    const port = h.port("in");
    const base = await settled(heldArrayBuffers, { tolerance: 32 * 1024, quietMs: 500 });
    client = await h2connect(port);
    client.write(ZERO_WINDOW);
    await client.waitFor((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0);
    client.write(frame(FrameType.SETTINGS, Flag.ACK, 0));
    client.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, hpack(requestHeaders(port, "/slow"))));
    const response = await client.waitFor((f) => f.type === FrameType.HEADERS && f.streamId === 1);
    expect(response, "the proxy relays the upstream's response head").toBeDefined();

    expect(await upstream.sent).toBe(BYTES);
    const grown = (await settled(heldArrayBuffers, { tolerance: 32 * 1024, quietMs: 500 })) - base;
    if (process.env.WEFT_TEST_VERBOSE === "1") console.log(`${BYTES} held response bytes cost ${(grown / MiB).toFixed(2)} MiB`);
    // The stream is still open: the bytes are held, not dropped with a reset.
    expect(client.isClosed()).toBe(false);
    expect(client.frames.some((f) => f.type === FrameType.RST_STREAM && f.streamId === 1)).toBe(false);
    expect(client.frames.some((f) => f.type === FrameType.DATA)).toBe(false);
    expect(grown).toBeLessThan(4 * MiB);
  }, 60_000);
});
