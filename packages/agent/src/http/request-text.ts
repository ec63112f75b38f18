// The agent's HTTP client for its loopback calls: the proxy's admin API
// (/ready, /stats, /drain_listeners, /quitquitquit), its Prometheus stats,
// the app's metrics for the merge, and `weft-agent wait`.
//
// node:http rather than fetch(): the first fetch() in a process loads Node's
// bundled undici and instantiates its llhttp WebAssembly — ≈ 10 MB of RSS
// (bench/agent/http-client-rss.mjs: 57.5 MB with fetch, 47.4 with node:http)
// that every pod's agent would carry for a few polls a second. Redirects are not followed: none of these endpoints
// redirects, and a probe that did should fail loudly rather than be chased.
import { request } from "node:http";

export interface TextResponse {
  status: number;
  body: string;
}

export interface RequestTextOptions {
  method?: string;
  /** Deadline for the whole exchange: connect, headers and body. */
  timeoutMs: number;
}

/** One request to an http:// URL; resolves with the status and the body as UTF-8 text, whatever the status. */
export function requestText(url: string, options: RequestTextOptions): Promise<TextResponse> {
  const method = options.method ?? "GET";
  return new Promise((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return reject(new Error(`${url} is not a URL`));
    }
    if (target.protocol !== "http:") return reject(new Error(`${url}: only http:// URLs are supported`));
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    };
    const req = request(target, { method }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", fail);
      res.on("end", () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
      });
    });
    const timer = setTimeout(() => fail(Object.assign(new Error(`${method} ${url}: no complete response within ${options.timeoutMs} ms`), { name: "TimeoutError" })), options.timeoutMs);
    req.on("error", fail);
    req.end();
  });
}
