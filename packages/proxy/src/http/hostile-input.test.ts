// The hostile-input suite (issue 5): a real weft-proxy process, attacked over
// raw sockets (HTTP/1.1), a raw HTTP/2 frame writer, node:http2 and nghttp.
// Every case must be refused with the right status (or a reset), must not reach
// the upstream, and must leave the proxy serving another client.
import { execFile, spawnSync } from "node:child_process";
import * as http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEchoUpstream, startHostileProxy, type HostileProxy, type Upstream } from "../test-util/hostile-proxy.js";
import { rawRequest } from "../test-util/raw-http1.js";
import { ErrorCode, Flag, FrameType, frame, h2connect, hpack, requestHeaders } from "../test-util/h2-frames.js";

let upstream: Upstream;
let proxy: HostileProxy;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  proxy = await startHostileProxy(upstream.port, {
    request_headers_timeout: "1s",
    use_remote_address: true,
    xff_num_trusted_hops: 1,
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
});

const H = (lines: string[], body = ""): string => lines.join("\r\n") + "\r\n\r\n" + body;

/** The upstream never saw a request carrying `marker` in its target. */
const notForwarded = (marker: string): void => {
  expect(upstream.seen.some((r) => r.url.includes(marker))).toBe(false);
};

async function stillServes(): Promise<void> {
  const [status, body] = await proxy.get("/ok");
  expect(status).toBe(200);
  expect(JSON.parse(body)).toMatchObject({ url: "/ok" });
}

describe("HTTP/1.1 over raw sockets", () => {
  it.each([
    ["Content-Length with Transfer-Encoding", H(["POST /m1 HTTP/1.1", "Host: a", "Content-Length: 5", "Transfer-Encoding: chunked"], "0\r\n\r\n"), 400, "/m1"],
    ["two Content-Lengths", H(["POST /m2 HTTP/1.1", "Host: a", "Content-Length: 3", "Content-Length: 3"], "abc"), 400, "/m2"],
    ["two different Content-Lengths", H(["POST /m3 HTTP/1.1", "Host: a", "Content-Length: 3", "Content-Length: 4"], "abcd"), 400, "/m3"],
    ["obs-fold", H(["GET /m4 HTTP/1.1", "Host: a", "X-A: b", " folded"]), 400, "/m4"],
    ["bare LF line endings", "GET /m5 HTTP/1.1\nHost: a\nX-A: b\n\n", 400, "/m5"],
    ["a bare CR in a value", H(["GET /m6 HTTP/1.1", "Host: a", "X-A: b\rc"]), 400, "/m6"],
    ["NUL in a value", H(["GET /m7 HTTP/1.1", "Host: a", "X-A: b\0c"]), 400, "/m7"],
    ["a space in a header name", H(["GET /m8 HTTP/1.1", "Host: a", "X A: b"]), 400, "/m8"],
    ["a separator in a header name", H(["GET /m9 HTTP/1.1", "Host: a", "X(A): b"]), 400, "/m9"],
    ["whitespace before the colon", H(["GET /m10 HTTP/1.1", "Host: a", "X-A : b"]), 400, "/m10"],
    ["a duplicate Host", H(["GET /m11 HTTP/1.1", "Host: a", "Host: b"]), 400, "/m11"],
    ["an absolute-form target whose host is not Host", H(["GET http://b.test/m12 HTTP/1.1", "Host: a.test"]), 400, "/m12"],
    ["no Host in HTTP/1.1", H(["GET /m13 HTTP/1.1"]), 400, "/m13"],
    ["a Host with userinfo", H(["GET /m14 HTTP/1.1", "Host: evil@a"]), 400, "/m14"],
    ["a malformed %-escape", H(["GET /m15%zz HTTP/1.1", "Host: a"]), 400, "/m15"],
    ["an encoded NUL", H(["GET /m16%00 HTTP/1.1", "Host: a"]), 400, "/m16"],
    ["a lower-case method", H(["get /m17 HTTP/1.1", "Host: a"]), 400, "/m17"],
    ["a Transfer-Encoding other than chunked", H(["POST /m18 HTTP/1.1", "Host: a", "Transfer-Encoding: gzip, chunked"], "0\r\n\r\n"), 501, "/m18"],
    ["101 headers", H(["GET /m19 HTTP/1.1", "Host: a", ...Array.from({ length: 100 }, (_, i) => `X-H${i}: v`)]), 431, "/m19"],
    ["61 KiB of headers", H(["GET /m20 HTTP/1.1", "Host: a", `X-Big: ${"v".repeat(61 * 1024)}`]), 431, "/m20"],
    ["an Upgrade request with a duplicate Host", H(["GET /m22 HTTP/1.1", "Host: a", "Host: b", "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]), 400, "/m22"],
    ["an Upgrade request with a NUL in a value", H(["GET /m23 HTTP/1.1", "Host: a", "Connection: Upgrade", "Upgrade: websocket", "X-A: b\0c"]), 400, "/m23"],
    ["200 KiB of headers", H(["GET /m21 HTTP/1.1", "Host: a", ...Array.from({ length: 50 }, (_, i) => `X-Big${i}: ${"v".repeat(4096)}`)]), 431, "/m21"],
  ])("refuses %s (%i)", async (_name, request, status, marker) => {
    const r = await rawRequest(proxy.port, request);
    expect(r.status, r.raw.slice(0, 200)).toBe(status);
    // A refused head ends the connection: nothing after it can be framed with confidence.
    expect(r.closed).toBe(true);
    notForwarded(marker);
    await stillServes();
  });

  it("accepts 100 headers and 59 KiB of headers", async () => {
    const r1 = await rawRequest(proxy.port, H(["GET /ok100 HTTP/1.1", "Host: a", "Connection: close", ...Array.from({ length: 98 }, (_, i) => `X-H${i}: v`)]));
    expect(r1.status).toBe(200);
    const r2 = await rawRequest(proxy.port, H(["GET /ok59 HTTP/1.1", "Host: a", "Connection: close", `X-Big: ${"v".repeat(59 * 1024)}`]));
    expect(r2.status).toBe(200);
  });

  it("answers 408 to a client that never finishes its headers (slowloris) and closes", async () => {
    const t0 = Date.now();
    const r = await rawRequest(proxy.port, "GET /slow HTTP/1.1\r\nHost: a\r\nX-Slow: 1", 6000);
    expect(r.status).toBe(408);
    expect(r.closed).toBe(true);
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(await proxy.stat("http.in.downstream_rq_header_timeout")).toBeGreaterThan(0);
    await stillServes();
  });

  it("strips hop-by-hop headers and those named in Connection, keeps framing headers", async () => {
    const r = await rawRequest(
      proxy.port,
      H(["POST /hop HTTP/1.1", "Host: a", "Connection: close, X-Secret, Content-Length", "X-Secret: s", "Keep-Alive: timeout=5", "Proxy-Connection: keep-alive", "TE: trailers", "X-Kept: k", "Content-Length: 3"], "abc"),
    );
    expect(r.status).toBe(200);
    const seen = upstream.seen.find((s) => s.url === "/hop")!;
    expect(seen.body).toBe("abc");
    expect(seen.headers["x-secret"]).toBeUndefined();
    expect(seen.headers["keep-alive"]).toBeUndefined();
    expect(seen.headers["proxy-connection"]).toBeUndefined();
    expect(seen.headers["x-kept"]).toBe("k");
    expect(seen.headers["content-length"]).toBe("3");
  });

  it("re-frames a chunked body: the upstream gets a well-formed message, never the client's bytes", async () => {
    const r = await rawRequest(proxy.port, H(["POST /chunked HTTP/1.1", "Host: a", "Connection: close", "Transfer-Encoding: chunked"], "3;ext=1\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n"));
    expect(r.status).toBe(200);
    const seen = upstream.seen.find((s) => s.url === "/chunked")!;
    expect(seen.body).toBe("abc");
    expect(seen.rawHeaders.join("\n")).not.toContain("ext=1");
  });

  it("strips client-set internal x-envoy-* headers from an external client (use_remote_address)", async () => {
    const r = await rawRequest(
      proxy.port,
      H(["GET /xenvoy HTTP/1.1", "Host: a", "Connection: close", "X-Forwarded-For: 203.0.113.7", "X-Envoy-Retry-On: 5xx", "X-Envoy-Max-Retries: 9", "X-Envoy-Upstream-Rq-Timeout-Ms: 1", "X-Envoy-Internal: true", "X-Envoy-Original-Path: /admin"]),
    );
    expect(r.status).toBe(200);
    const seen = upstream.seen.find((s) => s.url === "/xenvoy")!;
    for (const h of ["x-envoy-retry-on", "x-envoy-max-retries", "x-envoy-upstream-rq-timeout-ms", "x-envoy-internal", "x-envoy-original-path"]) expect(seen.headers[h], h).toBeUndefined();
    expect(seen.headers["x-envoy-external-address"]).toBe("203.0.113.7");
    expect(seen.headers["x-forwarded-for"]).toBe("203.0.113.7,127.0.0.1");
  });

  it.each([
    ["//p", "/p"],
    ["/./p", "/p"],
    ["/x/../p", "/p"],
    ["/%70", "/p"],
    ["/%2e%2e/p?q=%2e%2e", "/p?q=%2e%2e"],
    ["/P", "/P"],
  ])("routes and forwards %s as %s", async (target, want) => {
    const r = await rawRequest(proxy.port, H([`GET ${target} HTTP/1.1`, "Host: a", "Connection: close"]));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.raw.slice(r.raw.indexOf("\r\n\r\n") + 4))).toMatchObject({ url: want });
  });

  it.each([["//p"], ["/./p"], ["/x/../p"], ["/%70"], ["/p#frag"], ["/%2E/p"]])("a route for /p on denied.test holds against %s", async (target) => {
    for (const host of ["denied.test", "DENIED.TEST", "denied.test.", "Denied.Test."]) {
      const r = await rawRequest(proxy.port, H([`GET ${target} HTTP/1.1`, `Host: ${host}`, "Connection: close"]));
      expect(r.status, `${host}${target}`).toBe(403);
    }
    // Paths are not case-folded: /P is another path.
    const r = await rawRequest(proxy.port, H(["GET /P HTTP/1.1", "Host: denied.test", "Connection: close"]));
    expect(r.status).toBe(200);
  });

  it("counts refusals under Envoy's stat names", async () => {
    expect(await proxy.stat("http.in.downstream_rq_header_too_large")).toBeGreaterThan(0);
    expect(await proxy.stat("http.in.downstream_cx_protocol_error")).toBeGreaterThan(0);
    expect(await proxy.stat("http.in.downstream_rq_failed_path_normalization")).toBeGreaterThan(0);
  });
});

describe("HTTP/2", () => {
  async function h2request(headers: http2.OutgoingHttpHeaders, body?: string): Promise<{ status?: number; error?: string }> {
    const client = http2.connect(`http://127.0.0.1:${proxy.port}`);
    client.on("error", () => {});
    try {
      return await new Promise((resolve) => {
        const req = client.request(headers, { endStream: body === undefined });
        req.on("response", (h) => resolve({ status: Number(h[":status"]) }));
        req.on("error", (e: Error) => resolve({ error: e.message }));
        req.on("close", () => resolve({ error: `closed ${req.rstCode}` }));
        if (body !== undefined) req.end(body);
        req.resume();
      });
    } finally {
      client.close();
    }
  }

  it("refuses Host ≠ :authority with 400", async () => {
    expect(await h2request({ ":path": "/h2a", ":authority": "a.test", host: "b.test" })).toEqual({ status: 400 });
    notForwarded("/h2a");
    await stillServes();
  });

  it("refuses 101 headers with 431 and a header block over max_request_headers_kb with a reset", async () => {
    const many: http2.OutgoingHttpHeaders = { ":path": "/h2b" };
    for (let i = 0; i < 101; i++) many[`x-h${i}`] = "v";
    expect(await h2request(many)).toEqual({ status: 431 });
    const big = await h2request({ ":path": "/h2c", "x-big": "v".repeat(70 * 1024) });
    expect(big.status === 431 || big.error !== undefined).toBe(true);
    notForwarded("/h2b");
    notForwarded("/h2c");
    await stillServes();
  });

  it("normalizes :path and :authority like HTTP/1.1", async () => {
    expect(await h2request({ ":path": "/x/../%70", ":authority": "DENIED.TEST." })).toEqual({ status: 403 });
  });

  it.each([
    ["connection", "close"],
    ["keep-alive", "1"],
    ["transfer-encoding", "chunked"],
    ["upgrade", "h2c"],
    ["te", "gzip"],
  ])("resets a stream carrying the connection-specific %s (raw frames)", async (name, value) => {
    const c = await h2connect(proxy.port);
    c.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, hpack(requestHeaders(proxy.port, `/h2cs-${name}`, "GET", [[name, value]]))));
    const f = await c.waitFor((x) => (x.type === FrameType.RST_STREAM && x.streamId === 1) || x.type === FrameType.GOAWAY || (x.type === FrameType.HEADERS && x.streamId === 1));
    expect(f, "no answer").toBeDefined();
    // nghttp2 refuses these itself (RST_STREAM PROTOCOL_ERROR); if one slipped through, the HCM answers 400 — never a forward.
    expect(f!.type === FrameType.RST_STREAM || f!.type === FrameType.GOAWAY || f!.type === FrameType.HEADERS).toBe(true);
    c.socket.destroy();
    notForwarded(`/h2cs-${name}`);
    await stillServes();
  });

  it.each([
    ["CR", "a\rb", 13],
    ["LF", "a\nb", 10],
    ["NUL", "a\0b", 0],
  ])("never forwards a value with %s to the HTTP/1.1 upstream (raw frames)", async (_n, value, code) => {
    const c = await h2connect(proxy.port);
    const path = `/h2crlf-${code}`;
    c.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, hpack(requestHeaders(proxy.port, path, "GET", [["x-evil", value], ["x-fine", "ok"]]))));
    const f = await c.waitFor((x) => (x.type === FrameType.RST_STREAM && x.streamId === 1) || x.type === FrameType.GOAWAY || (x.type === FrameType.HEADERS && x.streamId === 1));
    expect(f).toBeDefined();
    c.socket.destroy();
    // nghttp2 drops an invalid field before the HCM sees it (RFC 9113 §8.2.1 allows treating it as
    // malformed or ignoring it); whatever reaches the upstream carries no CR, LF or NUL.
    for (const s of upstream.seen.filter((x) => x.url === path)) {
      expect(s.headers["x-evil"]).toBeUndefined();
      expect(s.rawHeaders.some((v) => /[\r\n\0]/.test(v))).toBe(false);
    }
    await stillServes();
  });

  it("resets a stream whose DATA length differs from content-length", async () => {
    const c = await h2connect(proxy.port);
    c.write(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, hpack(requestHeaders(proxy.port, "/h2cl", "POST", [["content-length", "10"]]))));
    c.write(frame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from("abc")));
    const f = await c.waitFor((x) => (x.type === FrameType.RST_STREAM && x.streamId === 1) || x.type === FrameType.GOAWAY);
    expect(f).toBeDefined();
    expect(f!.type === FrameType.GOAWAY || f!.payload.readUInt32BE(0) === ErrorCode.PROTOCOL_ERROR).toBe(true);
    c.socket.destroy();
    expect(upstream.seen.some((s) => s.url === "/h2cl" && s.body.length !== 10)).toBe(false);
    await stillServes();
  });

  it.skipIf(spawnSync("nghttp", ["--version"]).status !== 0)("serves nghttp (prior knowledge) and refuses its Host ≠ :authority", async () => {
    // Asynchronously: the upstream lives in this process and must keep answering.
    const nghttp = (...args: string[]) => new Promise<string>((resolve) => execFile("nghttp", ["-v", "-t", "5", ...args], (_e, out) => resolve(String(out))));
    expect(await nghttp(`http://127.0.0.1:${proxy.port}/nghttp-ok`)).toMatch(/:status: 200/);
    expect(await nghttp("-H", "host: other.test", `http://127.0.0.1:${proxy.port}/nghttp-bad`)).toMatch(/:status: 400/);
    notForwarded("/nghttp-bad");
  });
});
