// per_connection_buffer_limit_bytes on tcp_proxy (issue 5): a fast writer and
// a reader that stops reading. The proxy stops reading the fast side once the
// slow side's write buffer passes the limit, so what the fast side manages to
// send stalls at the limit plus the kernel's socket buffers, instead of piling
// up in the proxy. A large limit lets the proxy buffer that much more, which
// shows the configured value is the one in force. The stalled connections
// then finish: every byte arrives, in order.
import * as net from "node:net";
import { settled } from "../test-util/settled.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const SMALL = 64 * KiB;
const LARGE = 48 * MiB;
const CHUNK = Buffer.alloc(64 * KiB, 0x61);

const tcpListener = (name: string, cluster: string, limit?: number) => ({
  name,
  address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
  ...(limit !== undefined ? { per_connection_buffer_limit_bytes: limit } : {}),
  filter_chains: [{ filters: [{ name: "tcp", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: name, cluster } }] }],
});

/** Writes CHUNKs as fast as the socket takes them (respecting its own backpressure) until stopped. */
function firehose(s: net.Socket): { stop(): void } {
  let stopped = false;
  const pump = (): void => {
    while (!stopped && !s.destroyed && s.write(CHUNK));
    if (!stopped && !s.destroyed) s.once("drain", pump);
  };
  pump();
  return { stop: () => (stopped = true) };
}

/** Bytes the socket handed to the kernel (its own userland queue excluded). */
const flushed = (s: net.Socket): number => s.bytesWritten - s.writableLength;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


describe("tcp_proxy per_connection_buffer_limit_bytes", () => {
  let h: Harness;
  let upstreamSockets: net.Socket[] = [];
  let writer: net.Server;
  let sink: net.Server;

  beforeAll(async () => {
    // "writer" sends to whoever connects; "sink" accepts and never reads.
    writer = net.createServer((s) => {
      upstreamSockets.push(s);
      s.on("error", () => {});
    });
    sink = net.createServer((s) => {
      upstreamSockets.push(s);
      s.on("error", () => {});
      s.pause();
    });
    await new Promise<void>((r) => writer.listen(0, "127.0.0.1", r));
    await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
    const wp = (writer.address() as net.AddressInfo).port;
    const sp = (sink.address() as net.AddressInfo).port;
    h = await startRuntime({
      clusters: [staticCluster("writer", [wp]), staticCluster("sink", [sp], { per_connection_buffer_limit_bytes: SMALL }), staticCluster("sink_large", [sp], { per_connection_buffer_limit_bytes: LARGE })],
      listeners: [tcpListener("small", "writer", SMALL), tcpListener("large", "writer", LARGE), tcpListener("up_small", "sink"), tcpListener("up_large", "sink_large")],
    });
  });
  afterAll(async () => {
    await h?.close();
    for (const s of upstreamSockets) s.destroy();
    writer?.close();
    sink?.close();
  });

  /** A downstream client that reads nothing; the upstream writes as fast as it can. Returns bytes the upstream got out. */
  async function slowReader(listener: string): Promise<{ sent: number; drain(): Promise<boolean> }> {
    upstreamSockets = [];
    const client = net.connect(h.port(listener), "127.0.0.1");
    client.pause();
    await new Promise((r) => client.once("connect", r));
    while (upstreamSockets.length === 0) await sleep(10);
    const up = upstreamSockets[0]!;
    const hose = firehose(up);
    const sent = await settled(() => flushed(up));
    return {
      sent,
      // Stop writing, then read everything: all bytes arrive, each one 'a'.
      async drain() {
        hose.stop();
        up.end();
        let got = 0;
        let clean = true;
        client.on("data", (d: Buffer) => {
          got += d.length;
          if (d.some((b) => b !== 0x61)) clean = false;
        });
        client.resume();
        await new Promise((r) => client.once("end", r));
        client.destroy();
        return clean && got === up.bytesWritten;
      },
    };
  }

  it("stops reading a fast upstream while the downstream reader is slow (listener limit)", async () => {
    const heap0 = process.memoryUsage().arrayBuffers;
    const small = await slowReader("small");
    const heldSmall = process.memoryUsage().arrayBuffers - heap0;
    // The limit plus kernel buffers on three sockets (loopback autotuning can reach a few MB each).
    expect(small.sent).toBeLessThan(24 * MiB);
    // Userland buffers in this process (proxy + test ends) stay small; the large case below holds ~48 MiB.
    expect(heldSmall).toBeLessThan(16 * MiB);
    expect(await small.drain()).toBe(true);

    const large = await slowReader("large");
    // With 48 MiB allowed the proxy does buffer that much: the limit is what stopped the small one.
    expect(large.sent).toBeGreaterThan(small.sent + LARGE / 2);
    expect(large.sent).toBeGreaterThan(LARGE);
    expect(await large.drain()).toBe(true);
  }, 30_000);

  it("stops reading a fast client while the upstream is slow (cluster limit)", async () => {
    const fastClient = async (listener: string): Promise<number> => {
      upstreamSockets = [];
      const client = net.connect(h.port(listener), "127.0.0.1");
      client.on("error", () => {});
      await new Promise((r) => client.once("connect", r));
      const hose = firehose(client);
      const sent = await settled(() => flushed(client));
      hose.stop();
      client.destroy();
      return sent;
    };
    const small = await fastClient("up_small");
    const large = await fastClient("up_large");
    expect(small).toBeLessThan(24 * MiB);
    expect(large).toBeGreaterThan(small + LARGE / 2);
  }, 30_000);
});
