// What one downstream HTTP/2 connection can make the proxy hold (issue 5,
// "bounded per-stream buffers with backpressure"): 99 streams uploading
// without end toward an upstream that does not read them.
// - By default the stream windows bound it: max_concurrent_streams ×
//   (initial_stream_window_size 64 KiB + the stream's 16 KiB read buffer),
//   where session 4's 1 MiB windows let it reach 100 MiB.
// - With initial_connection_window_size set, the connection window bounds it
//   as in Envoy (http2-connection-budget.ts), and the paused connection must
//   resume once the upstream reads again.
// - A client that ignores flow control gets FLOW_CONTROL_ERROR instead of
//   being buffered.
// Real clients (node:http2, nghttp, a raw frame writer for the violator),
// real node:http upstreams; memory is this process's ArrayBuffers after a
// full collection, as in http2-buffer-limit.test.ts.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Flag, FrameType, frame, h2connect, hpack, requestHeaders } from "../test-util/h2-frames.js";
import { heldArrayBuffers } from "../test-util/held-buffers.js";
import { settled } from "../test-util/settled.js";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";

const MiB = 1024 * 1024;
const KiB = 1024;
const LARGE = 24 * MiB;
const CHUNK = Buffer.alloc(64 * KiB, 0x75);
const verbose = process.env.WEFT_TEST_VERBOSE === "1";
const FLOW_CONTROL_ERROR = 0x3;

const held = heldArrayBuffers;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** At most `connections` upstream connections; the other requests wait in the pending queue, bodies unread. */
const queued = (connections: number) => ({ circuit_breakers: { thresholds: [{ max_connections: connections, max_pending_requests: 1000, max_requests: 1000 }] } });
const route = (prefix: string, cluster: string) => ({ match: { prefix }, route: { cluster, timeout: "0s" } });
const hosts = (sinkCluster: string) => [{ name: "all", domains: ["*"], routes: [route("/ok", "ok"), route("/count", "counter"), route("/gate", "gate"), route("/", sinkCluster)] }];

/** Writes the shared chunk without end (the client's queue holds references to one buffer, no memory of its own). */
function pumpForever(s: http2.ClientHttp2Stream): void {
  const pump = (): void => {
    while (!s.destroyed && s.write(CHUNK));
    if (!s.destroyed) s.once("drain", pump);
  };
  pump();
}

/** Sends `bytes` of body, then ends; resolves with the response status and body. */
function upload(c: http2.ClientHttp2Session, path: string, bytes: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = c.request({ ":method": "POST", ":path": path });
    let status = 0;
    let body = "";
    s.on("response", (h) => (status = Number(h[":status"])));
    s.setEncoding("utf8");
    s.on("data", (d: string) => (body += d));
    s.on("end", () => resolve({ status, body }));
    s.on("error", reject);
    let sent = 0;
    const pump = (): void => {
      while (sent < bytes) {
        const n = Math.min(CHUNK.length, bytes - sent);
        sent += n;
        if (!s.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void s.once("drain", pump);
      }
      s.end();
    };
    pump();
  });
}

function get(c: http2.ClientHttp2Session, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = c.request({ ":path": path });
    s.on("response", (h) => resolve(Number(h[":status"])));
    s.on("error", reject);
    s.resume();
  });
}

describe("what one downstream HTTP/2 connection can make the proxy hold", () => {
  let h: Harness;
  const upstreams: net.Server[] = [];
  const upstreamSockets = new Set<net.Socket>();
  /** Upstream connections the gate holds unread until released. */
  const gated: net.Socket[] = [];
  let gateOpen = false;
  let openGate: (c: net.Socket) => void = () => {};

  const serve = async (handler: http.RequestListener): Promise<number> => {
    const s = http.createServer(handler);
    s.on("connection", (c: net.Socket) => {
      upstreamSockets.add(c);
      c.once("close", () => upstreamSockets.delete(c));
    });
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    upstreams.push(s);
    return (s.address() as net.AddressInfo).port;
  };

  beforeAll(async () => {
    // Reads request heads, never bodies.
    const sink = await serve((req) => req.pause());
    // Reads and counts the whole body, answers with its length.
    const counter = await serve((req, res) => {
      let n = 0;
      req.on("data", (d: Buffer) => (n += d.length));
      req.on("end", () => res.end(String(n)));
    });
    // Accepts connections and reads nothing from them until the test opens the gate (a socket never
    // read keeps the kernel's default receive buffer, where one that was read from grows to megabytes),
    // then parses, reads and counts each request.
    const counting = http.createServer((req, res) => {
      let n = 0;
      req.on("data", (d: Buffer) => (n += d.length));
      req.on("end", () => res.end(String(n)));
    });
    const gateServer = net.createServer({ pauseOnConnect: true }, (c) => {
      upstreamSockets.add(c);
      c.once("close", () => upstreamSockets.delete(c));
      if (gateOpen) openGate(c);
      else gated.push(c);
    });
    await new Promise<void>((r) => gateServer.listen(0, "127.0.0.1", r));
    upstreams.push(gateServer);
    openGate = (c) => {
      counting.emit("connection", c);
      c.resume();
    };
    const gate = (gateServer.address() as net.AddressInfo).port;
    const ok = await serve((_req, res) => res.end("ok"));
    h = await startRuntime({
      clusters: [
        // One upstream connection at a time, the other requests queued with their bodies unread: what
        // the proxy holds is then the downstream streams' bytes, not 99 upstream sockets' kernel buffers.
        staticCluster("sink", [sink], queued(1)),
        staticCluster("counter", [counter]),
        staticCluster("gate", [gate]),
        staticCluster("ok", [ok]),
      ],
      listeners: [
        httpListener("dflt", hosts("sink")),
        httpListener("budget", hosts("sink"), { http2_protocol_options: { initial_connection_window_size: MiB } }),
        httpListener("large", hosts("sink"), { http2_protocol_options: { initial_stream_window_size: LARGE, initial_connection_window_size: LARGE } }),
        // Envoy's smallest connection window: the budget pauses and resumes on nearly every frame.
        httpListener("small", hosts("sink"), { http2_protocol_options: { initial_connection_window_size: 65535 } }),
        httpListener("other", hosts("ok")),
      ],
    });
    // Warm-up: the first sessions and upstream connections in this process allocate lasting buffers.
    await stallUploads("dflt", 4);
  });
  afterAll(async () => {
    await h?.close();
    for (const s of upstreamSockets) s.destroy();
    for (const s of upstreams) s.close();
  });

  /** `n` streams uploading without end on one connection; how much this process's buffers grew once they stall. */
  async function stallUploads(listener: string, n: number, during?: (c: http2.ClientHttp2Session) => Promise<void>): Promise<number> {
    // What the last connection held is released in the background: start from a settled baseline.
    const base = await settled(held, { tolerance: 32 * KiB, quietMs: 500 });
    const c = http2.connect(`http://127.0.0.1:${h.port(listener)}`);
    c.on("error", () => {});
    for (let i = 0; i < n; i++) {
      const s = c.request({ ":method": "POST", ":path": `/up${i}` });
      s.on("error", () => {});
      pumpForever(s);
    }
    await settled(() => process.memoryUsage().arrayBuffers, { tolerance: 64 * KiB, quietMs: 1000, maxMs: 20_000 });
    // V8 frees dead ArrayBuffers' memory after a collection, concurrently: collect until it stops moving.
    const grown = (await settled(held, { tolerance: 32 * KiB, quietMs: 300 })) - base;
    if (verbose) console.log(`${listener}: ${n} stalled uploads hold ${(grown / MiB).toFixed(2)} MiB`);
    await during?.(c);
    c.destroy();
    for (const s of upstreamSockets) s.destroy();
    await sleep(300);
    return grown;
  }

  it("by default, holds 99 stalled uploads to their 64 KiB stream windows, not the 100 MiB of 1 MiB windows", async () => {
    let getStatus = 0;
    // 99 uploads and one GET: max_concurrent_streams is 100.
    const grown = await stallUploads("dflt", 99, async (c) => {
      getStatus = await get(c, "/ok");
    });
    // At most 99 × (64 KiB window + 16 KiB stream read buffer) = 7.7 MiB of request bytes, plus the one
    // upstream connection's write queue; measured 6.35 MiB alone, up to 10.1 MiB of ArrayBuffers while
    // other test files load the machine (held chunks pin the socket reads they came in).
    expect(grown).toBeLessThan(12 * MiB);
    // A request on the same connection is served meanwhile.
    expect(getStatus).toBe(200);
  }, 60_000);

  it("with initial_connection_window_size set, holds them to the connection window (Envoy)", async () => {
    const paused = h.stats.get("http.budget.downstream_flow_control_paused_reading_total") ?? 0;
    let getStatus = 0;
    const grown = await stallUploads("budget", 99, async (c) => {
      // Only DATA is held back: a request without a body still gets through the paused connection.
      getStatus = await get(c, "/ok");
    });
    // 1 MiB budget (measured 0.9–1.1 MiB), where the stream windows alone would allow 7.7 MiB.
    expect(grown).toBeLessThan(2.5 * MiB);
    expect(h.stats.get("http.budget.downstream_flow_control_paused_reading_total")).toBeGreaterThan(paused);
    expect(getStatus).toBe(200);
    // Envoy's smallest window, 65 535: an 80 KiB bound.
    expect(await stallUploads("small", 99)).toBeLessThan(1.5 * MiB);
  }, 60_000);

  it("keeps serving other connections while one is stalled", async () => {
    const statuses: number[] = [];
    let elapsed = Infinity;
    await stallUploads("budget", 99, async () => {
      const other = http2.connect(`http://127.0.0.1:${h.port("other")}`);
      const fresh = http2.connect(`http://127.0.0.1:${h.port("budget")}`);
      const t0 = Date.now();
      statuses.push(...(await Promise.all([get(other, "/a"), get(other, "/b"), get(fresh, "/ok"), get(fresh, "/ok")])));
      // An upload on another connection to the same listener is not held back by the stalled one.
      const up = await upload(fresh, "/count", 4 * MiB);
      elapsed = Date.now() - t0;
      statuses.push(up.status, Number(up.body));
      other.close();
      fresh.close();
    });
    expect(statuses).toEqual([200, 200, 200, 200, 200, 4 * MiB]);
    expect(elapsed).toBeLessThan(5000);
  }, 60_000);

  it("resumes a paused connection once the upstream reads again: every upload completes, byte for byte", async () => {
    for (const listener of ["budget", "small"]) {
      const stat = (name: string): number => h.stats.get(`http.${listener}.downstream_flow_control_${name}_reading_total`) ?? 0;
      const pausedBefore = stat("paused");
      const resumedBefore = stat("resumed");
      gateOpen = false;
      const c = http2.connect(`http://127.0.0.1:${h.port(listener)}`);
      c.on("error", () => {});
      // 8 × 8 MiB, each on its own upstream connection that reads nothing until the gate opens: once the
      // upstream sockets' kernel buffers are full the budget fills and the connection pauses.
      const size = 8 * MiB;
      const all = Array.from({ length: 8 }, (_, i) => upload(c, `/gate${i}`, size));
      // Paused, and every request has reached the gate (the pause may come first: a small budget fills fast).
      for (let i = 0; i < 300 && (stat("paused") === pausedBefore || gated.length < 8); i++) await sleep(50);
      expect(gated.length).toBe(8);
      expect(stat("paused")).toBeGreaterThan(pausedBefore);
      gateOpen = true;
      for (const g of gated.splice(0)) openGate(g);
      const results = await Promise.all(all);
      expect(results.map((r) => [r.status, Number(r.body)])).toEqual(results.map(() => [200, size]));
      expect(stat("resumed")).toBeGreaterThan(resumedBefore);
      c.close();
      // The next round needs fresh upstream connections (the pool keeps these alive).
      for (const u of upstreamSockets) u.destroy();
      await sleep(300);
    }
  }, 90_000);

  it("carries one large upload at full speed toward a reading upstream", async () => {
    for (const listener of ["dflt", "budget", "small"]) {
      const c = http2.connect(`http://127.0.0.1:${h.port(listener)}`);
      const t0 = process.hrtime.bigint();
      const r = await upload(c, "/count", 64 * MiB);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      c.close();
      if (verbose) console.log(`${listener}: 64 MiB upload in ${ms.toFixed(0)} ms`);
      expect(r.status).toBe(200);
      expect(Number(r.body)).toBe(64 * MiB);
      // Measured 0.6–0.9 s on loopback here (64 KiB and 1 MiB stream windows alike); generous for a shared VM.
      expect(ms).toBeLessThan(10_000);
    }
  }, 60_000);

  it("honours larger configured windows", async () => {
    const grown = await stallUploads("large", 4);
    // 24 MiB windows: the proxy takes far more than the defaults let it, and no more than the connection window.
    expect(grown).toBeGreaterThan(12 * MiB);
    expect(grown).toBeLessThan(LARGE + 4 * MiB);
  }, 60_000);
  it("holds a client that ignores flow control to its credit: FLOW_CONTROL_ERROR, not buffering", async () => {
    const base = await settled(held, { tolerance: 32 * KiB, quietMs: 500 });
    const port = h.port("budget");
    const conn = await h2connect(port);
    // Acknowledge the proxy's SETTINGS (64 KiB stream windows; nghttp2 applies them on the ACK).
    await conn.waitFor((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0);
    conn.write(frame(FrameType.SETTINGS, Flag.ACK, 0));
    await sleep(50);
    // 99 streams × 64 KiB (each within its stream window) = 6.2 MiB, sent without waiting for any
    // WINDOW_UPDATE: past the half-megabyte of connection credit the budget grants, nghttp2 must refuse.
    const payload = Buffer.alloc(16 * KiB, 0x68);
    for (let i = 0; i < 99 && !conn.isClosed(); i++) {
      const sid = 1 + 2 * i;
      const parts = [frame(FrameType.HEADERS, Flag.END_HEADERS, sid, hpack(requestHeaders(port, `/raw${i}`, "POST")))];
      for (let k = 0; k < 4; k++) parts.push(frame(FrameType.DATA, 0, sid, payload));
      conn.write(Buffer.concat(parts));
      await sleep(2);
    }
    await conn.waitFor((f) => f.type === FrameType.GOAWAY, 10_000);
    expect(conn.goawayCode()).toBe(FLOW_CONTROL_ERROR);
    const grown = (await settled(held, { tolerance: 32 * KiB, quietMs: 500 })) - base;
    if (verbose) console.log(`flow-control violator left ${(grown / MiB).toFixed(2)} MiB`);
    expect(grown).toBeLessThan(2.5 * MiB);
    conn.socket.destroy();
    // The proxy goes on serving.
    const c = http2.connect(`http://127.0.0.1:${port}`);
    expect(await get(c, "/ok")).toBe(200);
    c.close();
  }, 60_000);

  it("by default, refuses DATA beyond a stream's window", async () => {
    const port = h.port("dflt");
    const conn = await h2connect(port);
    const payload = Buffer.alloc(16 * KiB, 0x68);
    const parts = [frame(FrameType.HEADERS, Flag.END_HEADERS, 1, hpack(requestHeaders(port, "/raw", "POST")))];
    // 1 MiB on one stream whose window is 64 KiB (and whose reader buffers 16 KiB).
    for (let k = 0; k < 64; k++) parts.push(frame(FrameType.DATA, 0, 1, payload));
    conn.write(Buffer.concat(parts));
    const refusal = await conn.waitFor((f) => (f.type === FrameType.RST_STREAM && f.streamId === 1) || f.type === FrameType.GOAWAY, 10_000);
    expect(refusal).toBeDefined();
    const code = refusal!.type === FrameType.GOAWAY ? refusal!.payload.readUInt32BE(4) : refusal!.payload.readUInt32BE(0);
    expect(code).toBe(FLOW_CONTROL_ERROR);
    conn.socket.destroy();
  }, 30_000);
  it("holds nghttp's 99 concurrent uploads to the same bounds", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "weft-h2budget-"));
    const file = path.join(dir, "body");
    fs.writeFileSync(file, Buffer.alloc(4 * MiB, 0x6e));
    const run = async (listener: string): Promise<number> => {
      const base = await settled(held, { tolerance: 32 * KiB, quietMs: 500 });
      // nghttp (nghttp2's own client) uploads the file on 99 streams of one connection.
      const child = spawn("nghttp", ["-n", "-d", file, "-m", "99", `http://127.0.0.1:${h.port(listener)}/nghttp`], { stdio: "ignore" });
      try {
        await settled(() => process.memoryUsage().arrayBuffers, { tolerance: 64 * KiB, quietMs: 1000, maxMs: 20_000 });
        const grown = (await settled(held, { tolerance: 32 * KiB, quietMs: 300 })) - base;
        if (verbose) console.log(`${listener}: nghttp's 99 stalled uploads hold ${(grown / MiB).toFixed(2)} MiB`);
        return grown;
      } finally {
        child.kill();
        for (const s of upstreamSockets) s.destroy();
        await sleep(300);
      }
    };
    try {
      expect(await run("dflt")).toBeLessThan(12 * MiB);
      expect(await run("budget")).toBeLessThan(2.5 * MiB);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
