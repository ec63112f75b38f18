// HTTP/2 PRIORITY and WINDOW_UPDATE flood limits (issue 5), Envoy's rules:
//   PRIORITY      > max_inbound_priority_frames_per_stream × (1 + opened streams)
//   WINDOW_UPDATE > 5 + 2 × (opened streams + max_inbound_window_update_frames_per_data_frame_sent × DATA frames sent)
// → GOAWAY(ENHANCE_YOUR_CALM), close, http2.inbound_{priority,window_update}_frames_flood.
// A node:http2 server set up as the connection manager sets up its codec
// (http2ServerOptions + guardHttp2Session + guardHttp2Frames) faces a raw-frame
// attacker; real clients (node:http2, nghttp) are served meanwhile and after.
// The PRIORITY flood also runs against the real weft-proxy binary.
import { execFile } from "node:child_process";
import * as http2 from "node:http2";
import * as net from "node:net";
import { create } from "@bufbuild/protobuf";
import { HttpConnectionManagerSchema } from "@weft/xds-api/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFakeStats, type FakeStats } from "../test-util/fake-stats.js";
import { ErrorCode, FrameType, frame, h2connect, hpack, requestHeaders, Flag } from "../test-util/h2-frames.js";
import { startEchoUpstreamProcess, startHostileProxy, type HostileProxy } from "../test-util/hostile-proxy.js";
import { quietLogger } from "../test-util/quiet-logger.js";
import { createHardeningStats } from "./hardening-stats.js";
import { FrameHeaderReader, guardHttp2Frames } from "./http2-frame-guard.js";
import { guardHttp2Session, http2ServerOptions } from "./http2-guard.js";
import { compileRequestLimits } from "./request-limits.js";

const BIG = Buffer.alloc(4 * 1024 * 1024, 0x62);

const windowUpdate = (streamId: number, increment = 1): Buffer => {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(increment);
  return frame(FrameType.WINDOW_UPDATE, 0, streamId, p);
};
/** PRIORITY on `streamId`, depending on stream 0, weight 16. */
const priority = (streamId: number): Buffer => frame(FrameType.PRIORITY, 0, streamId, Buffer.from([0, 0, 0, 0, 15]));

function nghttp(url: string): Promise<{ code: number; out: string }> {
  return new Promise((r) => execFile("nghttp", ["-n", "-s", url], { timeout: 20_000 }, (e, out) => r({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: String(out) })));
}

/** A node:http2 client GET: status and body length. */
async function h2get(port: number, path: string): Promise<[number, number]> {
  const c = http2.connect(`http://127.0.0.1:${port}`);
  c.on("error", () => {});
  try {
    return await new Promise((resolve, reject) => {
      const req = c.request({ ":path": path });
      let status = 0;
      let n = 0;
      req.on("response", (h) => (status = Number(h[":status"])));
      req.on("data", (d: Buffer) => (n += d.length));
      req.on("end", () => resolve([status, n]));
      req.on("error", reject);
    });
  } finally {
    c.close();
  }
}

describe("FrameHeaderReader", () => {
  it("reads frame headers split anywhere, after the preface, skipping payloads", () => {
    const seen: Array<[number, number]> = [];
    const r = new FrameHeaderReader((t, id) => seen.push([t, id]), 24);
    const bytes = Buffer.concat([Buffer.alloc(24, 0x50), frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(12)), frame(FrameType.HEADERS, 4, 1, Buffer.alloc(30)), windowUpdate(0), frame(FrameType.DATA, 0, 1, Buffer.alloc(70_000))]);
    for (let i = 0; i < bytes.length; i += 5) r.feed(bytes.subarray(i, i + 5));
    expect(seen).toEqual([
      [FrameType.SETTINGS, 0],
      [FrameType.HEADERS, 1],
      [FrameType.WINDOW_UPDATE, 0],
      [FrameType.DATA, 1],
    ]);
    expect(r.bytesToBoundary()).toBe(0);
  });
});

describe("HTTP/2 frame flood limits on the downstream codec", () => {
  let server: net.Server;
  let port: number;
  let stats: FakeStats;
  const sessions = new Set<http2.ServerHttp2Session>();

  beforeAll(async () => {
    stats = createFakeStats();
    const limits = compileRequestLimits(create(HttpConnectionManagerSchema, { statPrefix: "t" }), "l", "hcm", () => {});
    const guard = createHardeningStats(stats, "t");
    const logger = quietLogger();
    const h2 = http2.createServer(http2ServerOptions(limits));
    h2.on("session", (s: http2.ServerHttp2Session) => {
      sessions.add(s);
      s.once("close", () => sessions.delete(s));
      guardHttp2Session(s, limits, guard, logger);
      s.on("error", () => {});
    });
    h2.on("stream", (st: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders) => {
      st.on("error", () => {});
      const body = h[":path"] === "/big" ? BIG : Buffer.from("ok");
      st.respond({ ":status": 200, "content-length": String(body.length) });
      st.end(body);
    });
    server = net.createServer((s) => h2.emit("connection", guardHttp2Frames(s, limits.http2, guard.http2, logger)));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => {
    for (const s of sessions) s.destroy();
    server?.close();
  });

  it("closes a WINDOW_UPDATE flood with GOAWAY(ENHANCE_YOUR_CALM) and keeps serving others", async () => {
    const before = stats.get("http2.inbound_window_update_frames_flood") ?? 0;
    const c = await h2connect(port);
    // Nothing was sent to this client: 5 + 2 × (0 + 10 × 0) = 5 are allowed, the 6th is a flood.
    const flood: Buffer[] = [];
    for (let i = 0; i < 1000; i++) flood.push(windowUpdate(0));
    c.write(Buffer.concat(flood));
    await c.closed;
    expect(c.goawayCode()).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    expect(stats.get("http2.inbound_window_update_frames_flood")).toBe(before + 1);
    expect(await h2get(port, "/")).toEqual([200, 2]);
  });

  it("allows the WINDOW_UPDATEs of real downloads (node:http2 and nghttp, 4 MiB each)", async () => {
    const before = stats.get("http2.inbound_window_update_frames_flood") ?? 0;
    expect(await h2get(port, "/big")).toEqual([200, BIG.length]);
    const n = await nghttp(`http://127.0.0.1:${port}/big`);
    expect(n.code).toBe(0);
    expect(stats.get("http2.inbound_window_update_frames_flood") ?? 0).toBe(before);
  });

  it("grants WINDOW_UPDATEs per DATA frame sent: within the allowance a stream is served", async () => {
    const before = stats.get("http2.inbound_window_update_frames_flood") ?? 0;
    const c = await h2connect(port);
    c.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, hpack(requestHeaders(port, "/"))));
    const data = await c.waitFor((f) => f.type === FrameType.DATA && f.streamId === 1);
    expect(data).toBeDefined();
    // One stream and one DATA frame sent: 5 + 2 × (1 + 10 × 1) = 27 allowed.
    const ok: Buffer[] = [];
    for (let i = 0; i < 27; i++) ok.push(windowUpdate(0));
    c.write(Buffer.concat(ok));
    c.write(frame(FrameType.PING, 0, 0, Buffer.alloc(8, 7)));
    expect(await c.waitFor((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0)).toBeDefined();
    expect(c.isClosed()).toBe(false);
    c.write(windowUpdate(0));
    await c.closed;
    expect(stats.get("http2.inbound_window_update_frames_flood")).toBe(before + 1);
  });

  it("closes a PRIORITY flood (100 × (1 + opened streams)) and keeps serving others", async () => {
    const before = stats.get("http2.inbound_priority_frames_flood") ?? 0;
    const ok = await h2connect(port);
    // One stream opened: 200 PRIORITY frames are allowed.
    ok.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, hpack(requestHeaders(port, "/"))));
    expect(await ok.waitFor((f) => f.type === FrameType.DATA)).toBeDefined();
    const p: Buffer[] = [];
    for (let i = 0; i < 200; i++) p.push(priority(3 + 2 * (i % 50)));
    ok.write(Buffer.concat(p));
    ok.write(frame(FrameType.PING, 0, 0, Buffer.alloc(8, 1)));
    expect(await ok.waitFor((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0)).toBeDefined();
    expect(ok.isClosed()).toBe(false);
    ok.socket.destroy();

    const bad = await h2connect(port);
    const flood: Buffer[] = [];
    for (let i = 0; i < 500; i++) flood.push(priority(3 + 2 * (i % 50)));
    bad.write(Buffer.concat(flood));
    await bad.closed;
    expect(bad.goawayCode()).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    expect(stats.get("http2.inbound_priority_frames_flood")).toBe(before + 1);
    expect(await h2get(port, "/")).toEqual([200, 2]);
  });
});

describe("PRIORITY flood against weft-proxy", () => {
  let upstream: { port: number; stop(): Promise<void> };
  let proxy: HostileProxy;
  beforeAll(async () => {
    upstream = await startEchoUpstreamProcess();
    // The WINDOW_UPDATE limit is opt-in (its frame reader costs CPU): set explicitly here.
    proxy = await startHostileProxy(upstream.port, { http2_protocol_options: { max_inbound_priority_frames_per_stream: 20, max_inbound_window_update_frames_per_data_frame_sent: 10 } });
  }, 120_000);
  afterAll(async () => {
    await proxy?.stop();
    await upstream?.stop();
  });

  it("uses the configured max_inbound_priority_frames_per_stream, closes the flooder, serves nghttp meanwhile", async () => {
    const c = await h2connect(proxy.port);
    const flood: Buffer[] = [];
    for (let i = 0; i < 100; i++) flood.push(priority(3 + 2 * (i % 10)));
    c.write(Buffer.concat(flood));
    await c.closed;
    expect(c.goawayCode()).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    expect(await proxy.stat("http2.inbound_priority_frames_flood")).toBe(1);
    const n = await nghttp(`http://127.0.0.1:${proxy.port}/after`);
    expect(n.code).toBe(0);
    // 20 PRIORITY frames with no stream open are within the limit.
    const fine = await h2connect(proxy.port);
    fine.write(Buffer.concat(flood.slice(0, 20)));
    fine.write(frame(FrameType.PING, 0, 0, Buffer.alloc(8, 2)));
    expect(await fine.waitFor((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0)).toBeDefined();
    expect(fine.isClosed()).toBe(false);
    fine.socket.destroy();
  });

  it("enforces max_inbound_window_update_frames_per_data_frame_sent when configured, and still serves nghttp and HTTP/2 downloads", async () => {
    const c = await h2connect(proxy.port);
    const flood: Buffer[] = [];
    for (let i = 0; i < 200; i++) flood.push(windowUpdate(0));
    c.write(Buffer.concat(flood));
    await c.closed;
    expect(c.goawayCode()).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    expect(await proxy.stat("http2.inbound_window_update_frames_flood")).toBe(1);
    const n = await nghttp(`http://127.0.0.1:${proxy.port}/after-window-flood`);
    expect(n.code).toBe(0);
    expect((await h2get(proxy.port, "/after-window-flood"))[0]).toBe(200);
  });
});
