// The lean HTTP/1.1 pool against a real node:http upstream: keep-alive reuse,
// max_requests_per_connection, max_connections queueing, request bodies
// (Content-Length and chunked), connect failures and a close mid-response.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLeanHttp1Pool, type LeanHttp1PoolOptions } from "./lean-http1-pool.js";
import type { UpstreamError, UpstreamHeaders, UpstreamRequest } from "./upstream-stream.js";

interface Result {
  status: number;
  headers: UpstreamHeaders;
  body: string;
  trailers?: UpstreamHeaders;
  local?: string;
}

let server: Server;
let port = 0;
const sockets = new Set<Socket>();
const seen: Array<{ remotePort: number; method: string; url: string; te?: string; cl?: string; body: string }> = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (body += d));
    req.on("end", () => {
      seen.push({ remotePort: req.socket.remotePort!, method: req.method!, url: req.url!, te: req.headers["transfer-encoding"], cl: req.headers["content-length"], body });
      if (req.url === "/slow") return void setTimeout(() => res.end("slow"), 150);
      if (req.url === "/die") {
        res.writeHead(200, { "content-length": "100" });
        res.write("partial");
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      if (req.url === "/trailers") {
        res.writeHead(200, { trailer: "x-t" });
        res.write("a");
        res.addTrailers({ "x-t": "done" });
        return void res.end("b");
      }
      res.end(`${req.method} ${req.url} ${body}`);
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

function pool(over: Partial<LeanHttp1PoolOptions> = {}) {
  const counts = { connected: 0, closed: 0, failed: 0 };
  const p = createLeanHttp1Pool({
    ip: "127.0.0.1",
    port,
    connectTimeoutMs: 1000,
    maxConnections: 10,
    maxRequestsPerConnection: 0,
    idleTimeoutMs: 0,
    events: { connected: () => counts.connected++, closed: () => counts.closed++, connectFailed: () => counts.failed++ },
    ...over,
  });
  return { p, counts };
}

function send(p: ReturnType<typeof pool>["p"], req: Partial<UpstreamRequest>): Promise<Result> {
  return new Promise((resolve, reject) => {
    let r: Result | undefined;
    let body = "";
    const s = p.request(
      { method: "GET", path: "/", authority: "up", scheme: "http", headers: { host: "up" }, body: null, ...req },
      {
        onHeaders: (status, headers) => (r = { status, headers, body: "", local: s.localAddress() }),
        onData: (c) => ((body += c.toString()), true),
        onEnd: (trailers) => resolve({ ...r!, body, trailers }),
        onError: (e: UpstreamError) => reject(e),
      },
    );
  });
}

describe("lean HTTP/1.1 upstream pool", () => {
  it("reuses one keep-alive connection for sequential requests and reports its local address", async () => {
    const { p, counts } = pool();
    seen.length = 0;
    for (let i = 0; i < 5; i++) {
      const r = await send(p, { path: `/k${i}` });
      expect(r.status).toBe(200);
      expect(r.body).toBe(`GET /k${i} `);
      expect(r.local).toMatch(/^127\.0\.0\.1:\d+$/);
    }
    expect(new Set(seen.map((s) => s.remotePort)).size).toBe(1);
    expect(counts.connected).toBe(1);
    await p.close();
  });

  it("opens a new connection after max_requests_per_connection", async () => {
    const { p, counts } = pool({ maxRequestsPerConnection: 2 });
    seen.length = 0;
    for (let i = 0; i < 5; i++) await send(p, { path: `/m${i}` });
    expect(new Set(seen.map((s) => s.remotePort)).size).toBe(3);
    expect(counts.connected).toBe(3);
    await p.close();
  });

  it("queues beyond max_connections and runs the queue as connections free up", async () => {
    const { p, counts } = pool({ maxConnections: 2 });
    seen.length = 0;
    const all = await Promise.all([1, 2, 3, 4, 5].map((i) => send(p, { path: "/slow", headers: { host: "up", "x-i": String(i) } })));
    expect(all.every((r) => r.body === "slow")).toBe(true);
    expect(counts.connected).toBe(2);
    expect(new Set(seen.map((s) => s.remotePort)).size).toBe(2);
    await p.close();
  });

  it("sends bodies with their Content-Length, or chunked when the length is unknown; passes trailers back", async () => {
    const { p } = pool();
    seen.length = 0;
    const a = await send(p, { method: "POST", path: "/cl", headers: { host: "up", "content-length": "5" }, body: Readable.from([Buffer.from("he"), Buffer.from("llo")]) });
    expect(a.body).toBe("POST /cl hello");
    const b = await send(p, { method: "POST", path: "/chunked", body: Readable.from([Buffer.from("one "), Buffer.from("two")]) });
    expect(b.body).toBe("POST /chunked one two");
    expect(seen[0]).toMatchObject({ cl: "5", te: undefined });
    expect(seen[1]).toMatchObject({ te: "chunked", cl: undefined });
    const t = await send(p, { path: "/trailers" });
    expect(t.body).toBe("ab");
    expect(t.trailers).toEqual({ "x-t": "done" });
    await p.close();
  });

  it("maps a refused connect to connection_failure with Envoy's reason, and a close mid-body to reset", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const { p: dead, counts } = pool({ port: deadPort });
    const err = await send(dead, {}).catch((e: UpstreamError) => e);
    expect((err as UpstreamError).failure).toBe("connection_failure");
    expect((err as UpstreamError).transportReason).toBe("delayed connect error: 111");
    expect(counts.failed).toBe(1);

    const { p } = pool();
    const mid = await send(p, { path: "/die" }).catch((e: UpstreamError) => e);
    expect((mid as UpstreamError).failure).toBe("reset");
    // The pool recovers: the next request gets a fresh connection.
    expect((await send(p, { path: "/after" })).status).toBe(200);
    await p.close();
  });

  it("never writes a header value carrying CR/LF (request splitting)", async () => {
    const { p } = pool();
    seen.length = 0;
    const err = await send(p, { headers: { host: "up", "x-bad": "a\r\nx-injected: 1" } }).catch((e: UpstreamError) => e);
    expect((err as UpstreamError).failure).toBe("reset");
    expect(seen).toHaveLength(0);
    await p.close();
  });
});
