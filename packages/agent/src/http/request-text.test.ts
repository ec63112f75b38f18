import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestText } from "./request-text.js";

describe("requestText()", () => {
  let server: Server;
  let base = "";
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url === "/hang") return; // never answers
      if (req.url === "/slow-body") {
        res.writeHead(200);
        res.write("partial");
        return; // headers and part of the body, never the end
      }
      if (req.url === "/big") return res.end("é".repeat(300_000));
      if (req.url === "/redirect") return res.writeHead(302, { location: "/ready" }).end();
      res.writeHead(req.url === "/ready" ? 200 : 503, { "content-type": "text/plain" }).end(req.url === "/ready" ? "LIVE\n" : "not ready\n");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("gives the status and the body as text, whatever the status, with the method asked for", async () => {
    expect(await requestText(`${base}/ready`, { timeoutMs: 2000 })).toEqual({ status: 200, body: "LIVE\n" });
    expect(await requestText(`${base}/drain_listeners?inboundonly&graceful`, { method: "POST", timeoutMs: 2000 })).toEqual({ status: 503, body: "not ready\n" });
    expect(seen).toContain("POST /drain_listeners?inboundonly&graceful");
  });

  it("decodes a large UTF-8 body split over many reads", async () => {
    const r = await requestText(`${base}/big`, { timeoutMs: 5000 });
    expect(r.body).toHaveLength(300_000);
    expect(r.body).toBe("é".repeat(300_000));
  });

  it("does not follow redirects", async () => {
    expect((await requestText(`${base}/redirect`, { timeoutMs: 2000 })).status).toBe(302);
  });

  it("gives up at the deadline when there is no answer, or when the body never ends", async () => {
    const started = Date.now();
    await expect(requestText(`${base}/hang`, { timeoutMs: 200 })).rejects.toThrow(/GET http:\/\/127\.0\.0\.1:\d+\/hang: no complete response within 200 ms/);
    await expect(requestText(`${base}/slow-body`, { timeoutMs: 200 })).rejects.toThrow(/no complete response within 200 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("names the refused connection, a bad URL and a scheme it does not speak", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(requestText(`http://127.0.0.1:${port}/ready`, { timeoutMs: 2000 })).rejects.toThrow(`connect ECONNREFUSED 127.0.0.1:${port}`);
    await expect(requestText("not a url", { timeoutMs: 2000 })).rejects.toThrow("not a url is not a URL");
    await expect(requestText("https://127.0.0.1:1/ready", { timeoutMs: 2000 })).rejects.toThrow("https://127.0.0.1:1/ready: only http:// URLs are supported");
  });
});
