// istio_request_bytes / istio_response_bytes and %DOWNSTREAM_WIRE_BYTES_*% count
// the downstream wire bytes, as Envoy's downstream BytesMeter does: heads and
// chunk framing included, local replies too. Every expectation is computed
// from the bytes a real client wrote and read (curl's own counts, or a raw
// socket's), never hard-coded. HTTP/2 counts are estimates (wire-bytes.ts):
// checked against the frames nghttp reports for the stream.
import { execFile, spawnSync } from "node:child_process";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCommandLine } from "../cli/parse-command-line.js";
import { startProxy, type RunningProxy } from "../app/start-proxy.js";
import { createProxyRuntime, type WeftProxyRuntime } from "../runtime/create-proxy-runtime.js";
import { httpListener, staticCluster } from "../test-util/runtime-harness.js";
import { istioNode, prometheus, sampleValue } from "../test-util/istio-proxy.js";
import { poller } from "../test-util/until.js";

const run = promisify(execFile);
const hasCurl = spawnSync("curl", ["--version"]).status === 0;
const hasNghttp = spawnSync("nghttp", ["--version"]).status === 0;
const until = poller({ timeoutMs: 10_000, stepMs: 25 });
const dir = mkdtempSync(join(tmpdir(), "weft-wire-bytes-"));
const logPath = join(dir, "access.json");

const LOG_FORMAT = {
  path: "%REQ(:PATH)%",
  code: "%RESPONSE_CODE%",
  wireIn: "%DOWNSTREAM_WIRE_BYTES_RECEIVED%",
  wireOut: "%DOWNSTREAM_WIRE_BYTES_SENT%",
  bodyIn: "%BYTES_RECEIVED%",
  bodyOut: "%BYTES_SENT%",
  reqHeaders: "%REQUEST_HEADERS_BYTES%",
  respHeaders: "%RESPONSE_HEADERS_BYTES%",
};
type LogLine = { [K in keyof typeof LOG_FORMAT]: K extends "path" ? string : number };

function bootstrap(upstreamPort: number): string {
  const typedStruct = (typeUrl: string, value: Record<string, unknown>) => ({ "@type": "type.googleapis.com/udpa.type.v1.TypedStruct", type_url: typeUrl, value });
  const stats = { name: "istio.stats", typed_config: typedStruct("type.googleapis.com/stats.PluginConfig", {}) };
  const router = { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } };
  const accessLog = {
    name: "envoy.access_loggers.file",
    typed_config: { "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog", path: logPath, log_format: { json_format: LOG_FORMAT } },
  };
  // Only /status/ is routed: anything else is the HCM's own 404 (NR).
  const routes = [{ name: "all", domains: ["*"], routes: [{ name: "status", match: { prefix: "/status/" }, route: { cluster: "app" } }] }];
  const listener = { ...httpListener("wire_in", routes, { http_filters: [stats, router], access_log: [accessLog] }), traffic_direction: "INBOUND" };
  return JSON.stringify({
    node: istioNode("wire-v1", "wire", "10.0.0.9"),
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } },
    static_resources: { listeners: [listener], clusters: [staticCluster("app", [upstreamPort])] },
  });
}

/**
 * The upstream: /status/<code> answers with that code and `hello`; `?chunked` streams `abc` then
 * `defgh` in a later tick; `?size=<n>` answers n bytes.
 */
function upstreamHandler(req: IncomingMessage, res: import("node:http").ServerResponse): void {
  // Wait for the whole request body first, so the proxy has read it all when the response ends.
  req.resume();
  req.on("end", () => {
    const code = Number(/^\/status\/(\d{3})/.exec(req.url ?? "")?.[1] ?? 200);
    // A header holding UTF-8 bytes: a codec that re-encoded them would send more bytes than it counts.
    res.setHeader("x-reply", "über");
    const size = /[?&]size=(\d+)/.exec(req.url ?? "")?.[1];
    if (size !== undefined) {
      res.writeHead(code, { "content-type": "text/plain", "content-length": size });
      res.end(Buffer.alloc(Number(size), 0x62));
      return;
    }
    if (!req.url?.includes("chunked")) {
      res.writeHead(code, { "content-type": "text/plain", "content-length": "5" });
      res.end("hello");
      return;
    }
    res.writeHead(code, { "content-type": "text/plain" });
    res.flushHeaders();
    setTimeout(() => {
      res.write("abc");
      setTimeout(() => res.end("defgh"), 20);
    }, 20);
  });
}

/** Where the HTTP/1.1 response at the start of `buf` ends, once it is complete (Content-Length or chunked). */
function responseEnd(buf: Buffer): number | undefined {
  const headEnd = buf.indexOf("\r\n\r\n");
  if (headEnd < 0) return undefined;
  const head = buf.toString("latin1", 0, headEnd).toLowerCase();
  let i = headEnd + 4;
  if (/\r\ntransfer-encoding: *chunked/.test(head)) {
    for (;;) {
      const lineEnd = buf.indexOf("\r\n", i);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buf.toString("latin1", i, lineEnd), 16);
      i = lineEnd + 2;
      if (size === 0) {
        // Trailer fields, then the empty line.
        for (;;) {
          const end = buf.indexOf("\r\n", i);
          if (end < 0) return undefined;
          if (end === i) return end + 2;
          i = end + 2;
        }
      }
      if (buf.length < i + size + 2) return undefined;
      i += size + 2;
    }
  }
  const length = Number(/\r\ncontent-length: *(\d+)/.exec(head)?.[1] ?? 0);
  return buf.length >= i + length ? i + length : undefined;
}

/** A raw HTTP/1.1 connection: each exchange resolves with the exact bytes of one response. */
class RawConnection {
  private readonly sock: Socket;
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;

  constructor(port: number) {
    this.sock = connect(port, "127.0.0.1");
    this.sock.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
  }

  async exchange(request: string): Promise<Buffer> {
    this.sock.write(Buffer.from(request, "latin1"));
    for (;;) {
      const end = responseEnd(this.buf);
      if (end !== undefined) {
        const response = this.buf.subarray(0, end);
        this.buf = this.buf.subarray(end);
        return response;
      }
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`incomplete response: ${JSON.stringify(this.buf.toString("latin1"))}`)), 5000);
        this.wake = () => (clearTimeout(t), resolve());
      });
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Envoy's HeaderMap byteSize() of a response head as received: `:status` + code, then each name + value. */
function responseHeadBytes(head: string, skip: string[] = []): number {
  const lines = head.split("\r\n");
  let n = ":status".length + 3;
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const c = line.indexOf(":");
    const name = line.slice(0, c).toLowerCase();
    if (!skip.includes(name)) n += c + line.slice(c + 1).trim().length;
  }
  return n;
}

let upstream: Server;
let proxy: RunningProxy;
let port = 0;
let admin = 0;
/** The request heads the upstream received, by path. */
const upstreamHeads = new Map<string, string[]>();

async function logLine(path: string): Promise<LogLine> {
  let found: LogLine | undefined;
  await until(() => {
    if (!existsSync(logPath)) return false;
    const lines = readFileSync(logPath, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as LogLine);
    found = lines.find((l) => l.path === path);
    return found !== undefined;
  }, `the access log line of ${path}`);
  return found!;
}

/** istio_request_bytes / istio_response_bytes of the one request answered with `code`. */
async function istioBytes(code: number): Promise<{ request: number | undefined; response: number | undefined; count: number | undefined }> {
  const text = await prometheus(admin);
  const labels = { reporter: "destination", response_code: String(code) };
  return {
    request: sampleValue(text, "istio_request_bytes_sum", labels),
    response: sampleValue(text, "istio_response_bytes_sum", labels),
    count: sampleValue(text, "istio_request_bytes_count", labels),
  };
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    upstreamHeads.set(req.url ?? "", req.rawHeaders);
    upstreamHandler(req, res);
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  const options = parseCommandLine(["--config-yaml", bootstrap((upstream.address() as AddressInfo).port), "--file-flush-interval-msec", "20", "-l", "warning"]);
  proxy = await startProxy(options, { createRuntime: createProxyRuntime, logDestination: new Writable({ write: (_c, _e, cb) => cb() }) as never });
  const runtime = proxy.runtime as WeftProxyRuntime;
  await until(() => (runtime.boundPort("wire_in") ?? 0) > 0 && (proxy.adminPort() ?? 0) > 0, "the listener and admin to bind");
  port = runtime.boundPort("wire_in")!;
  admin = proxy.adminPort()!;
}, 30_000);

afterAll(async () => {
  await proxy?.stop();
  await new Promise((r) => upstream?.close(r));
});

describe.skipIf(!hasCurl)("downstream wire bytes over HTTP/1.1 (curl)", () => {
  it("a GET: the request head curl sent and the response head and body it read, in istio.stats and the access log", async () => {
    // size_request: the bytes curl sent; size_header + size_download: what it read (a Content-Length body).
    const { stdout } = await run("curl", ["-sS", "-o", "/dev/null", "-w", "%{size_request} %{size_header} %{size_download}", "-H", "x-note: wire", `http://127.0.0.1:${port}/status/200`]);
    const [sent, headRead, bodyRead] = stdout.split(" ").map(Number);
    expect(sent).toBeGreaterThan(50);
    const m = await istioBytes(200);
    expect(m.count).toBe(1);
    expect(m.request).toBe(sent);
    expect(m.response).toBe(headRead + bodyRead);
    const log = await logLine("/status/200");
    expect(log).toMatchObject({ code: 200, wireIn: sent, wireOut: headRead + bodyRead, bodyIn: 0, bodyOut: 5 });
  });
});

describe("downstream wire bytes over HTTP/1.1 (raw sockets)", () => {
  it("counts each request of one connection exactly: a streamed chunked response (lean codec), then chunked POSTs (node:http)", async () => {
    const c = new RawConnection(port);
    try {
      // The lean codec: the response head is written alone, its body in two chunks a tick apart.
      const get = "GET /status/203?chunked HTTP/1.1\r\nHost: wire.test\r\nUser-Agent: raw\r\n\r\n";
      const r1 = await c.exchange(get);
      expect(r1.toString("latin1")).toMatch(/^HTTP\/1\.1 203 [^]*\r\ntransfer-encoding: chunked\r\n[^]*\r\n3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n$/);
      // The UTF-8 header bytes as the upstream sent them (C3 BC), not re-encoded (C3 83 C2 BC).
      expect(r1.includes(Buffer.from("x-reply: \u00fcber", "utf8"))).toBe(true);

      // Chunked requests are node:http's: the lean codec hands the connection over.
      const post = (code: number, chunks: string[]) =>
        `POST /status/${code} HTTP/1.1\r\nHost: wire.test\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n` +
        chunks.map((x) => `${x.length.toString(16)}\r\n${x}\r\n`).join("") +
        "0\r\n\r\n";
      const p1 = post(201, ["hello ", "chunked ", "world"]);
      const r2 = await c.exchange(p1);
      const p2 = post(202, ["x".repeat(300)]);
      const r3 = await c.exchange(p2);

      for (const [code, request, response] of [[203, get, r1], [201, p1, r2], [202, p2, r3]] as const) {
        const m = await istioBytes(code);
        expect({ code, count: m.count, request: m.request, response: m.response }).toEqual({ code, count: 1, request: request.length, response: response.length });
      }
      const log = await logLine("/status/201");
      expect(log).toMatchObject({ code: 201, wireIn: p1.length, wireOut: r2.length, bodyIn: "hello chunked world".length, bodyOut: 5 });
      const streamed = await logLine("/status/203?chunked");
      expect(streamed).toMatchObject({ code: 203, wireIn: get.length, wireOut: r1.length, bodyIn: 0, bodyOut: 8 });
    } finally {
      c.close();
    }
  });

  it("counts a local reply (no route: 404 NR): the request head and the reply the proxy wrote", async () => {
    const c = new RawConnection(port);
    try {
      const get = "GET /nowhere HTTP/1.1\r\nHost: wire.test\r\nAccept: */*\r\n\r\n";
      const reply = await c.exchange(get);
      expect(reply.toString("latin1")).toMatch(/^HTTP\/1\.1 404 /);
      const m = await istioBytes(404);
      expect(m).toEqual({ count: 1, request: get.length, response: reply.length });
      const log = await logLine("/nowhere");
      expect(log).toMatchObject({ code: 404, wireIn: get.length, wireOut: reply.length });
      // The reply's header map as written: every line is the HCM's own (no framing line added by the codec).
      const head = reply.toString("latin1", 0, reply.indexOf("\r\n\r\n"));
      expect(log.respHeaders).toBe(responseHeadBytes(head));
    } finally {
      c.close();
    }
  });

  it("%REQUEST_HEADERS_BYTES% / %RESPONSE_HEADERS_BYTES% are the header maps' byteSize(), as the upstream and the client saw them", async () => {
    const c = new RawConnection(port);
    try {
      const reply = await c.exchange("GET /status/207 HTTP/1.1\r\nHost: wire.test\r\nUser-Agent: raw\r\nX-Note: headers\r\n\r\n");
      const log = await logLine("/status/207");
      // The request as forwarded is the proxy's request header map: Host is :authority there, and
      // Envoy's map holds :method, :path and :scheme besides.
      const raw = upstreamHeads.get("/status/207")!;
      let expected = ":method".length + 3 + ":path".length + "/status/207".length + ":scheme".length + "http".length;
      for (let i = 0; i < raw.length; i += 2) expected += (raw[i]!.toLowerCase() === "host" ? ":authority".length : raw[i]!.length) + raw[i + 1]!.length;
      expect(log.reqHeaders).toBe(expected);
      const head = reply.toString("latin1", 0, reply.indexOf("\r\n\r\n"));
      expect(log.respHeaders).toBe(responseHeadBytes(head));
    } finally {
      c.close();
    }
  });
});

describe.skipIf(!hasNghttp)("downstream wire bytes over HTTP/2 (nghttp): estimates", () => {
  it("counts the DATA bytes and their frames, and a header block of plausible size, in each direction", async () => {
    // 40 000 bytes up: three DATA frames of at most 16 384 bytes from nghttp; 50 000 down.
    const bodyFile = join(dir, "body.bin");
    writeFileSync(bodyFile, Buffer.alloc(40_000, 0x61));
    const { stdout } = await run("nghttp", ["-v", "-d", bodyFile, "-H", "x-note: h2", `http://127.0.0.1:${port}/status/206?size=50000`]);
    // The frames of stream 13 (nghttp's first request stream), as nghttp sent and received them: what Envoy counts.
    const frames = [...stdout.matchAll(/(send|recv) (\w+) frame <length=(\d+), flags=0x[0-9a-f]+, stream_id=13>/g)].map((f) => ({ dir: f[1], type: f[2], length: Number(f[3]) }));
    const wire = (d: string, type?: string) => frames.filter((f) => f.dir === d && (type === undefined || f.type === type)).reduce((n, f) => n + f.length + 9, 0);
    const dataIn = wire("send", "DATA");
    const dataOut = wire("recv", "DATA");
    expect(dataIn).toBe(40_000 + 9 * 3);
    expect(dataOut).toBeGreaterThanOrEqual(50_000 + 9 * 4);

    const m = await istioBytes(206);
    expect(m.count).toBe(1);
    const log = await logLine("/status/206?size=50000");
    expect(log).toMatchObject({ code: 206, wireIn: m.request, wireOut: m.response, bodyIn: 40_000, bodyOut: 50_000 });
    // DATA: exact bytes, frames counted as nghttp framed them here; the rest is the HEADERS frame's estimate.
    const headersIn = m.request! - dataIn;
    const headersOut = m.response! - dataOut;
    const realHeadersIn = wire("send", "HEADERS");
    const realHeadersOut = wire("recv", "HEADERS");
    expect(headersIn).toBeGreaterThan(9);
    expect(headersOut).toBeGreaterThan(9);
    // An estimate of HPACK, not HPACK: the right order of magnitude, no more.
    for (const [estimate, real] of [[headersIn, realHeadersIn], [headersOut, realHeadersOut]]) {
      expect(estimate).toBeGreaterThanOrEqual(real / 2);
      expect(estimate).toBeLessThanOrEqual(real * 4);
    }
    expect(log.respHeaders).toBeGreaterThan(0);
  }, 30_000);
});
