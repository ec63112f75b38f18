import http from "node:http";
import type { AddressInfo } from "node:net";
import { closeServer, listen } from "../common/serve.js";

export interface TestResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP/1.1 exchange over a real socket. */
export function request(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<TestResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: init.method ?? "GET", headers: init.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}

/** Start `server` on 127.0.0.1 with an ephemeral port; returns its base URL and a stopper. */
export async function startOnLoopback(server: http.Server): Promise<{ url: string; port: number; stop: () => Promise<void> }> {
  const addr: AddressInfo = await listen(server, { host: "127.0.0.1", port: 0 });
  return { url: `http://127.0.0.1:${addr.port}`, port: addr.port, stop: () => closeServer(server) };
}

export interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/**
 * A fake upstream: answers every request with `respond` (after `delayMs`) and
 * records what it received.
 */
export async function startFakeUpstream(
  respond: (req: http.IncomingMessage) => { status: number; body: unknown; delayMs?: number },
): Promise<{ url: string; port: number; seen: Recorded[]; stop: () => Promise<void> }> {
  const seen: Recorded[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const out = respond(req);
    const send = (): void => {
      if (res.destroyed) return;
      const text = typeof out.body === "string" ? out.body : JSON.stringify(out.body);
      res.writeHead(out.status, { "content-type": "application/json" });
      res.end(text);
    };
    if (out.delayMs) setTimeout(send, out.delayMs);
    else send();
  });
  const started = await startOnLoopback(server);
  return { ...started, seen };
}

/**
 * A recording relay: forwards each request to `target` unchanged (as a sidecar
 * would, minus the mesh) and keeps the headers it carried, so a test can see
 * what one service sent to the next.
 */
export async function startRelay(target: string): Promise<{ url: string; seen: Recorded[]; stop: () => Promise<void> }> {
  const seen: Recorded[] = [];
  const t = new URL(target);
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const up = http.request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers: req.headers, agent: false }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on("error", () => {
      if (!res.headersSent) res.writeHead(503);
      res.end();
    });
    req.pipe(up);
  });
  const started = await startOnLoopback(server);
  return { url: started.url, seen, stop: started.stop };
}
