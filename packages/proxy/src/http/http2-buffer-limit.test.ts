// Bounded buffering with backpressure on downstream HTTP/2 (issue 5). As in
// Envoy, an HTTP/2 stream's buffers are bounded by its flow-control window
// (http2_protocol_options.initial_stream_window_size; Weft's default 64 KiB):
// toward an upstream that stops reading, the proxy stops consuming the stream,
// withholds WINDOW_UPDATE, and the client stalls. A larger configured window
// lets it buffer that much more (the field is what bounds it). The other way,
// a client that stops reading a large response stops the proxy reading the
// upstream. Real node:http2 clients, real node:http upstreams. What a whole
// connection can hold (many streams, the connection window) is in
// http2-connection-budget.test.ts.
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { heldArrayBuffers } from "../test-util/held-buffers.js";
import { settled } from "../test-util/settled.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";

const MiB = 1024 * 1024;
const LARGE_WINDOW = 24 * MiB;
const CHUNK = Buffer.alloc(64 * 1024, 0x63);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const held = heldArrayBuffers;


const routes = (cluster: string) => [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster, timeout: "0s" } }] }];

describe("downstream HTTP/2 buffering toward slow peers", () => {
  let h: Harness;
  let sink: http.Server;
  let writer: http.Server;
  const upstreamSockets = new Set<net.Socket>();
  let writerFlushed = 0;

  beforeAll(async () => {
    // Reads request heads, never bodies (node:http stops reading the socket once the body buffer is full).
    sink = http.createServer((req) => req.pause());
    // Sends an endless response as fast as the proxy takes it.
    writer = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      const sock = res.socket!;
      const pump = (): void => {
        while (!res.destroyed && res.write(CHUNK));
        if (!res.destroyed) res.once("drain", pump);
      };
      const tick = setInterval(() => (writerFlushed = sock.bytesWritten - sock.writableLength), 20);
      res.once("close", () => clearInterval(tick));
      pump();
    });
    for (const s of [sink, writer]) {
      s.on("connection", (c: net.Socket) => {
        upstreamSockets.add(c);
        c.once("close", () => upstreamSockets.delete(c));
      });
      await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    }
    h = await startRuntime({
      clusters: [staticCluster("sink", [(sink.address() as net.AddressInfo).port]), staticCluster("writer", [(writer.address() as net.AddressInfo).port])],
      listeners: [
        httpListener("dflt", routes("sink")),
        // The stream window alone (the connection window left unset does not bound the connection).
        httpListener("large", routes("sink"), { http2_protocol_options: { initial_stream_window_size: LARGE_WINDOW } }),
        httpListener("down", routes("writer")),
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
    for (const s of upstreamSockets) s.destroy();
    sink?.close();
    writer?.close();
  });

  /** Two POST streams that write without end; returns how much this process's buffers grew once they stall. */
  async function uploadToSink(listener: string): Promise<number> {
    const base = held();
    const c = http2.connect(`http://127.0.0.1:${h.port(listener)}`);
    c.on("error", () => {});
    const streams: http2.ClientHttp2Stream[] = [];
    for (let i = 0; i < 2; i++) {
      const s = c.request({ ":method": "POST", ":path": `/up${i}` });
      s.on("error", () => {});
      // One shared chunk: the client's own queue adds no memory, only what the proxy holds counts.
      const pump = (): void => {
        while (!s.destroyed && s.write(CHUNK));
        if (!s.destroyed) s.once("drain", pump);
      };
      pump();
      streams.push(s);
    }
    await settled(() => process.memoryUsage().arrayBuffers, { tolerance: 64 * 1024 });
    // V8 frees dead ArrayBuffers' memory after a collection, concurrently: collect until it stops moving.
    const grown = (await settled(held, { tolerance: 32 * 1024, quietMs: 300 })) - base;
    c.destroy();
    for (const s of upstreamSockets) s.destroy();
    await sleep(200);
    return grown;
  }

  it("stops a fast HTTP/2 uploader at the stream window while the upstream does not read", async () => {
    // Warm-up: the first HTTP/2 session in this process allocates lasting buffers of its own.
    await uploadToSink("dflt");
    const dflt = await uploadToSink("dflt");
    // Two streams × 64 KiB windows plus the proxy's 16 KiB stream buffers and upstream write queues
    // (measured 0.3–6 MiB with the client's and the allocator's noise in this process), where an
    // unbounded proxy would take GBs.
    expect(dflt).toBeLessThan(12 * MiB);
    const large = await uploadToSink("large");
    // initial_stream_window_size 24 MiB: the proxy takes (and holds) that much per stream.
    expect(large).toBeGreaterThan(dflt + LARGE_WINDOW);
  }, 40_000);

  it("stops reading a fast upstream while the HTTP/2 client does not read the response", async () => {
    writerFlushed = 0;
    const c = http2.connect(`http://127.0.0.1:${h.port("down")}`);
    c.on("error", () => {});
    const s = c.request({ ":path": "/down" });
    s.on("error", () => {});
    const status = await new Promise<number>((r) => s.once("response", (hd) => r(Number(hd[":status"]))));
    expect(status).toBe(200);
    s.pause();
    const sent = await settled(() => writerFlushed, { tolerance: 64 * 1024 });
    // The upstream got out the kernel's socket buffers' worth, not an endless stream.
    expect(sent).toBeLessThan(24 * MiB);
    // Reading resumes the flow.
    let got = 0;
    s.on("data", (d: Buffer) => (got += d.length));
    s.resume();
    await settled(() => got, { quietMs: 300, maxMs: 3000, tolerance: 64 * 1024 });
    expect(writerFlushed).toBeGreaterThan(sent);
    c.destroy();
  }, 40_000);
});
