// The lean HTTP/1.1 pool against a real node:http upstream: keep-alive reuse,
// max_requests_per_connection, max_connections queueing, request bodies
// (Content-Length and chunked), connect failures and a close mid-response.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
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

/** 3 MiB of random bytes: bodies that take many reads, to check the copies of the shared read buffer. */
const BIG = randomBytes(3 * 1024 * 1024);
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

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
      if (req.url === "/big") {
        res.writeHead(200, { "content-length": String(BIG.length) });
        return void res.end(BIG);
      }
      if (req.url === "/hint") {
        res.writeHead(200, { "keep-alive": "timeout=1", "content-length": "2" });
        return void res.end("ok");
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

/** A raw upstream: `answer` gets each request head and the socket, and writes whatever it likes. */
async function rawUpstream(answer: (head: string, s: Socket) => void): Promise<{ port: number; srv: NetServer; conns: () => number }> {
  let conns = 0;
  const srv = createNetServer((s) => {
    conns++;
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString("latin1");
      let at: number;
      while ((at = buf.indexOf("\r\n\r\n")) >= 0) {
        const head = buf.slice(0, at);
        buf = buf.slice(at + 4);
        answer(head, s);
      }
    });
    s.on("error", () => {});
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return { port: (srv.address() as AddressInfo).port, srv, conns: () => conns };
}

describe("lean HTTP/1.1 upstream pool: reads, framing and connection life", () => {
  it("hands the handler body chunks it may keep: two large responses at once stay intact", async () => {
    const { p } = pool();
    const keep = () =>
      new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        p.request(
          { method: "GET", path: "/big", authority: "up", scheme: "http", headers: { host: "up" }, body: null },
          { onHeaders: () => {}, onData: (c) => (chunks.push(c), true), onEnd: () => resolve(Buffer.concat(chunks)), onError: reject },
        );
      });
    const [a, b] = await Promise.all([keep(), keep()]);
    expect(a.length).toBe(BIG.length);
    expect(sha(a)).toBe(sha(BIG));
    expect(sha(b)).toBe(sha(BIG));
    await p.close();
  });

  it("stops reading while the handler asks for a pause and completes after resume()", async () => {
    const { p } = pool();
    const chunks: Buffer[] = [];
    let callsWhilePaused = -1;
    const got = await new Promise<Buffer>((resolve, reject) => {
      let paused = false;
      const s = p.request(
        { method: "GET", path: "/big", authority: "up", scheme: "http", headers: { host: "up" }, body: null },
        {
          onHeaders: () => {},
          onData: (c) => {
            chunks.push(c);
            if (paused || chunks.length !== 2) return true;
            paused = true;
            const at = chunks.length;
            // What was already read is delivered in the same callback; nothing after it until resume().
            setImmediate(() => {
              const after = chunks.length;
              setTimeout(() => {
                callsWhilePaused = chunks.length - after;
                s.resume();
              }, 100);
              expect(after).toBeGreaterThanOrEqual(at);
            });
            return false;
          },
          onEnd: () => resolve(Buffer.concat(chunks)),
          onError: reject,
        },
      );
    });
    expect(callsWhilePaused).toBe(0);
    expect(sha(got)).toBe(sha(BIG));
    // The connection is reusable after a paused exchange.
    expect((await send(p, { path: "/after-pause" })).status).toBe(200);
    await p.close();
  });

  it("closes idle connections after the idle timeout with one pool timer, and then opens a fresh one", async () => {
    const { p, counts } = pool({ idleTimeoutMs: 100 });
    await send(p, { path: "/i1" });
    await send(p, { path: "/i2" });
    expect(counts.connected).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(counts.closed).toBe(1);
    expect((await send(p, { path: "/i3" })).status).toBe(200);
    expect(counts.connected).toBe(2);
    await p.close();
  });

  it("checks the idle time when picking a connection, before the sweep timer had a chance to run", async () => {
    const { p, counts } = pool({ idleTimeoutMs: 100 });
    await send(p, { path: "/p1" });
    // Keep the event loop busy past the idle timeout: no timer runs, so only the pick can notice.
    const until = Date.now() + 200;
    while (Date.now() < until);
    const r = send(p, { path: "/p2" });
    expect(counts.connected).toBe(1);
    expect(counts.closed).toBe(0);
    expect((await r).status).toBe(200);
    expect(counts.connected).toBe(2);
    await p.close();
  });

  it("never reuses a connection past the upstream's Keep-Alive: timeout= hint minus a second", async () => {
    const { p, counts } = pool({ idleTimeoutMs: 60_000 });
    for (let i = 0; i < 3; i++) expect((await send(p, { path: "/hint" })).body).toBe("ok");
    // timeout=1 leaves no idle time at all: each request gets its own connection.
    expect(counts.connected).toBe(3);
    await p.close();
  });

  it("delivers head, body and end of a response read at once in one synchronous run", async () => {
    const up = await rawUpstream((_h, s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"));
    const { p } = pool({ port: up.port });
    const events: string[] = [];
    await new Promise<void>((resolve, reject) => {
      let tick = 0;
      p.request(
        { method: "GET", path: "/", authority: "up", scheme: "http", headers: { host: "up" }, body: null },
        {
          onHeaders: (status, _h, endStream) => {
            events.push(`head ${status} ${endStream}`);
            queueMicrotask(() => tick++);
          },
          onData: (c) => (events.push(`data ${c.toString()} tick ${tick}`), true),
          onEnd: () => (events.push(`end tick ${tick}`), resolve()),
          onError: reject,
        },
      );
    });
    expect(events).toEqual(["head 200 false", "data hello tick 0", "end tick 0"]);
    await p.close();
    up.srv.close();
  });

  it("reads a close-delimited body, skips 1xx, ends HEAD at the head, and reuses only what may be reused", async () => {
    const up = await rawUpstream((head, s) => {
      if (head.startsWith("HEAD")) return void s.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
      if (head.includes("/early")) return void s.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      if (head.includes("/close")) {
        s.write("HTTP/1.0 200 OK\r\n\r\nuntil ");
        setTimeout(() => s.end("the close"), 20);
      }
    });
    const { p, counts } = pool({ port: up.port });
    const h = await new Promise<{ endStream: boolean; ended: boolean }>((resolve, reject) => {
      const r = { endStream: false, ended: false };
      p.request(
        { method: "HEAD", path: "/", authority: "up", scheme: "http", headers: { host: "up" }, body: null },
        { onHeaders: (_s, _h, e) => (r.endStream = e), onData: () => true, onEnd: () => ((r.ended = true), resolve(r)), onError: reject },
      );
    });
    expect(h).toEqual({ endStream: true, ended: true });
    expect((await send(p, { path: "/early" })).body).toBe("ok");
    expect(up.conns()).toBe(1);
    expect((await send(p, { path: "/close" })).body).toBe("until the close");
    expect((await send(p, { path: "/early" })).status).toBe(200);
    expect(up.conns()).toBe(2);
    expect(counts.connected).toBe(2);
    await p.close();
    up.srv.close();
  });

  it("delivers a response followed by stray bytes, then drops that connection", async () => {
    const up = await rawUpstream((head, s) => {
      if (head.includes("/stray")) s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n");
      else s.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext");
    });
    const { p } = pool({ port: up.port });
    expect((await send(p, { path: "/stray" })).body).toBe("ok");
    expect((await send(p, { path: "/n" })).body).toBe("next");
    expect(up.conns()).toBe(2);
    await p.close();
    up.srv.close();
  });

  it("recovers when the upstream closes an idle keep-alive connection", async () => {
    const up = await rawUpstream((_h, s) => s.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    const { p, counts } = pool({ port: up.port });
    expect((await send(p, { path: "/a" })).body).toBe("ok");
    await new Promise((r) => setTimeout(r, 50));
    expect(counts.closed).toBe(1);
    expect((await send(p, { path: "/b" })).body).toBe("ok");
    expect(up.conns()).toBe(2);
    await p.close();
    up.srv.close();
  });

  it("fails a connect that hangs past connect_timeout with Envoy's reason, and counts it", async () => {
    // A listener whose process is stopped: once its accept queue (backlog 1) is full the kernel drops SYNs.
    const child = spawn(process.execPath, ["-e", "const s = require('net').createServer(); s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => console.log(String(s.address().port)));"], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      // The port is the first all-digits line (the first chunk may be something else, or a part of it).
      const stuckPort = await new Promise<number>((resolve, reject) => {
        let out = "";
        child.stdout!.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /^(\d+)$/m.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once("exit", () => reject(new Error(`the stuck listener exited before printing its port: ${out}`)));
      });
      child.kill("SIGSTOP");
      // Fill the accept queue one connection at a time until a connect hangs (the kernel then
      // drops SYNs for this port): timing-independent, however loaded the machine is.
      const fillers: ReturnType<typeof netConnect>[] = [];
      for (let i = 0; i < 16; i++) {
        const f = netConnect(stuckPort, "127.0.0.1").on("error", () => {});
        fillers.push(f);
        const connected = await new Promise<boolean>((r) => {
          const t = setTimeout(() => r(false), 500);
          f.once("connect", () => {
            clearTimeout(t);
            r(true);
          });
        });
        if (!connected) break;
      }
      const { p, counts } = pool({ port: stuckPort, connectTimeoutMs: 300 });
      const started = Date.now();
      const err = await send(p, {}).catch((e: UpstreamError) => e);
      expect((err as UpstreamError).failure).toBe("connection_failure");
      expect((err as UpstreamError).transportReason).toBe("connect timeout");
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(counts.failed).toBe(1);
      for (const f of fillers) f.destroy();
      await p.close();
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("names the field that would split the request head, the path included", async () => {
    const { p } = pool();
    const err = await send(p, { path: "/a\r\nx: 1" }).catch((e: UpstreamError) => e);
    expect((err as UpstreamError).failure).toBe("reset");
    expect((err as UpstreamError).message).toMatch(/':path'/);
    const nul = await send(p, { headers: { host: "up", "x-from-config": "a\0b" } }).catch((e: UpstreamError) => e);
    expect((nul as UpstreamError).message).toMatch(/'x-from-config'/);
    const arr = await send(p, { headers: { host: "up", "x-multi": ["ok", "b\nad"] } }).catch((e: UpstreamError) => e);
    expect((arr as UpstreamError).message).toMatch(/'x-multi'/);
    await p.close();
  });
});
