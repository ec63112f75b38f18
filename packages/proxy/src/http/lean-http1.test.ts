// The lean HTTP/1.1 codec through the real binary, over raw sockets: what a
// client can do on one keep-alive connection (pipelining, bodies split across
// packets, a switch to something only node:http handles mid-connection), and
// the response framing it chooses (one write for small bodies, chunked for a
// streamed one, HEAD, Connection: close), with the idle timeout.
import * as http from "node:http";
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHostileProxy, type HostileProxy } from "../test-util/hostile-proxy.js";

interface Seen {
  method: string;
  url: string;
  body: string;
  te?: string;
}
let upstream: http.Server;
const seen: Seen[] = [];
let proxy: HostileProxy;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("latin1");
      seen.push({ method: req.method ?? "", url: req.url ?? "", body, te: req.headers["transfer-encoding"] });
      if (req.url === "/stream") {
        // No Content-Length: the proxy must frame it chunked and send the head before the second part.
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("first;");
        setTimeout(() => res.end("second"), 400);
        return;
      }
      const out = JSON.stringify({ url: req.url, bytes: body.length });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) });
      res.end(req.method === "HEAD" ? undefined : out);
    });
  });
  upstream.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  proxy = await startHostileProxy((upstream.address() as net.AddressInfo).port, {
    common_http_protocol_options: { idle_timeout: "1s" },
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  upstream?.closeAllConnections();
  await new Promise((r) => upstream?.close(r));
});

/** One client connection that collects everything the proxy sends. */
function connect(): Promise<{ socket: net.Socket; received: () => string; waitFor: (re: RegExp, ms?: number) => Promise<string>; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxy.port, "127.0.0.1");
    let text = "";
    let wake: (() => void) | undefined;
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      text += d;
      wake?.();
    });
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
    socket.on("error", () => {});
    const waitFor = async (re: RegExp, ms = 5000): Promise<string> => {
      const deadline = Date.now() + ms;
      while (!re.test(text)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} in ${JSON.stringify(text)}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      return text;
    };
    socket.once("connect", () => resolve({ socket, received: () => text, waitFor, closed }));
    socket.once("error", reject);
  });
}

const responses = (text: string): string[] => text.split(/(?=HTTP\/1\.1 \d{3} )/).filter(Boolean);

describe("lean HTTP/1.1 codec", () => {
  it("answers pipelined requests in order on one connection", async () => {
    const c = await connect();
    c.socket.write("GET /pipe/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /pipe/2 HTTP/1.1\r\nHost: a\r\n\r\nGET /pipe/3 HTTP/1.1\r\nHost: a\r\n\r\n");
    const text = await c.waitFor(/\/pipe\/3/);
    const urls = responses(text).map((r) => /"url":"([^"]+)"/.exec(r)?.[1]);
    expect(urls).toEqual(["/pipe/1", "/pipe/2", "/pipe/3"]);
    expect(responses(text).every((r) => r.startsWith("HTTP/1.1 200 OK\r\n"))).toBe(true);
    c.socket.destroy();
  });

  it("reassembles a Content-Length body split across packets, then serves the next request", async () => {
    const c = await connect();
    c.socket.write("POST /body/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    await new Promise((r) => setTimeout(r, 100));
    c.socket.write("defg");
    await new Promise((r) => setTimeout(r, 100));
    // The body's last bytes and the next (pipelined) request in one packet.
    c.socket.write("hijGET /body/2 HTTP/1.1\r\nHost: a\r\n\r\n");
    await c.waitFor(/\/body\/2/);
    expect(seen.find((s) => s.url === "/body/1")).toMatchObject({ method: "POST", body: "abcdefghij" });
    expect(responses(c.received())[0]).toContain('"bytes":10');
    c.socket.destroy();
  });

  it("hands the connection to node:http for a chunked request mid-connection, and keeps serving it", async () => {
    const c = await connect();
    c.socket.write("GET /handoff/1 HTTP/1.1\r\nHost: a\r\n\r\n");
    await c.waitFor(/\/handoff\/1/);
    c.socket.write("POST /handoff/2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    await c.waitFor(/\/handoff\/2/);
    c.socket.write("GET /handoff/3 HTTP/1.1\r\nHost: a\r\n\r\n");
    const text = await c.waitFor(/\/handoff\/3/);
    expect(responses(text)).toHaveLength(3);
    expect(seen.find((s) => s.url === "/handoff/2")).toMatchObject({ body: "hello" });
    c.socket.destroy();
  });

  it("hands off HTTP/1.0 from the first byte (node:http answers it as before)", async () => {
    const c = await connect();
    c.socket.write("GET /old HTTP/1.0\r\nHost: a\r\n\r\n");
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(c.received()).toContain('"url":"/old"');
  });

  it("streams a response without Content-Length as chunked, the head before the last part", async () => {
    const c = await connect();
    const started = Date.now();
    c.socket.write("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n");
    await c.waitFor(/first;/);
    const firstAt = Date.now() - started;
    const text = await c.waitFor(/\r\n0\r\n\r\n$/);
    expect(firstAt).toBeLessThan(350);
    expect(text).toMatch(/transfer-encoding: chunked\r\n/i);
    const body = text.slice(text.indexOf("\r\n\r\n") + 4);
    expect(body).toBe("6\r\nfirst;\r\n6\r\nsecond\r\n0\r\n\r\n");
    c.socket.destroy();
  });

  it("answers HEAD with the upstream's Content-Length and no body", async () => {
    const c = await connect();
    c.socket.write("HEAD /head HTTP/1.1\r\nHost: a\r\n\r\nGET /after-head HTTP/1.1\r\nHost: a\r\n\r\n");
    const text = await c.waitFor(/\/after-head/);
    const [head] = responses(text);
    expect(head).toMatch(/content-length: \d+\r\n/i);
    expect(head.endsWith("\r\n\r\n")).toBe(true);
    c.socket.destroy();
  });

  it("honours Connection: close (says so, then closes)", async () => {
    const c = await connect();
    c.socket.write("GET /close HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    await c.closed;
    expect(c.received()).toMatch(/connection: close\r\n/i);
    expect(c.received()).toContain('"url":"/close"');
  });

  it("closes a keep-alive connection idle past idle_timeout, not before", async () => {
    const c = await connect();
    c.socket.write("GET /idle HTTP/1.1\r\nHost: a\r\n\r\n");
    await c.waitFor(/\/idle/);
    const t0 = Date.now();
    await c.closed;
    const idleFor = Date.now() - t0;
    expect(idleFor).toBeGreaterThanOrEqual(900);
    expect(idleFor).toBeLessThan(3000);
  });
});
