// A loopback HTTP/1.1 upstream that records every request (arrival time,
// headers, body) and answers with a handler, plus a curl client, for the
// resilience tests (retries, circuit breakers, outliers, health checks, mirrors).
import { execFile } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface Recorded {
  at: number;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Reply = { status: number; body?: string; headers?: Record<string, string>; delayMs?: number };

export interface Backend {
  port: number;
  requests: Recorded[];
  /** Replaces the handler. */
  handle(fn: (r: Recorded) => Reply): void;
  close(): Promise<void>;
}

export async function startBackend(fn: (r: Recorded) => Reply = () => ({ status: 200, body: "ok" })): Promise<Backend> {
  let handler = fn;
  const requests: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const at = Date.now();
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      const r: Recorded = { at, method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
      requests.push(r);
      const out = handler(r);
      const send = (): void => {
        if (res.destroyed) return;
        res.writeHead(out.status, { "content-type": "text/plain", ...out.headers });
        res.end(out.body ?? "");
      };
      if (out.delayMs) setTimeout(send, out.delayMs);
      else send();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    handle(f) {
      handler = f;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface CurlResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  ms: number;
}

/** One request with the real curl binary; `-D -` gives us the response headers. */
export function curl(port: number, path: string, opts: { headers?: Record<string, string>; data?: string; host?: string } = {}): Promise<CurlResult> {
  const args = ["-s", "-D", "-", "--max-time", "20", "-o", "-"];
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push("-H", `${k}: ${v}`);
  if (opts.host) args.push("-H", `host: ${opts.host}`);
  if (opts.data !== undefined) args.push("--data-binary", opts.data);
  args.push(`http://127.0.0.1:${port}${path}`);
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    execFile("curl", args, { maxBuffer: 8 << 20 }, (err, stdout) => {
      if (err) return reject(err);
      const split = stdout.indexOf("\r\n\r\n");
      const head = stdout.slice(0, split).split("\r\n");
      const status = Number(head[0]?.split(" ")[1]);
      const headers: Record<string, string> = {};
      for (const l of head.slice(1)) {
        const i = l.indexOf(":");
        if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status, headers, body: stdout.slice(split + 4), ms: Date.now() - t0 });
    });
  });
}

/** A port nothing listens on (bound then closed). */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const p = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
