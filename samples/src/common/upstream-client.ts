import http from "node:http";
import { SampleError } from "./sample-error.js";

export interface UpstreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface UpstreamRequest {
  /** Headers to send (lower-case names); Host is always the URL's authority. */
  headers?: Record<string, string>;
  /** Deadline for the whole exchange, connect to last body byte, like requests' timeout. */
  timeoutMs: number;
}

export interface UpstreamClient {
  /** GET `url`; rejects on connection errors and on timeout, resolves with any HTTP status. */
  get(url: string, request: UpstreamRequest): Promise<UpstreamResponse>;
  /** The HTTP proxy requests to `url` go through, if any (for logs and tests). */
  proxyFor(url: string): URL | undefined;
}

/** The exchange took longer than its deadline. */
export class UpstreamTimeoutError extends Error {
  constructor(url: string, timeoutMs: number) {
    super(`GET ${url} timed out after ${timeoutMs} ms`);
    this.name = "UpstreamTimeoutError";
  }
}

/**
 * The apps' HTTP client. Two ways to reach an upstream, so the same app works in
 * both local mesh modes unchanged:
 *
 * - directly to the URL's host (Kubernetes, and the local transparent mode where
 *   iptables hands the connection to the sidecar);
 * - through an explicit forward proxy from `HTTP_PROXY`/`http_proxy` (the local
 *   explicit mode, where the sidecar's outbound listener is that proxy): the
 *   request goes to the proxy in absolute form (`GET http://details:9080/details/0`,
 *   RFC 9112 §3.2.2) with `Host: details:9080`, exactly as curl sends it, so the
 *   sidecar routes on the service name. `NO_PROXY`/`no_proxy` (comma-separated
 *   host names, `.suffix`es, or `*`) bypass it.
 *
 * Each request uses a fresh connection, as the originals' clients (python
 * requests without a session, JAX-RS) do: no pooled socket can be reset under a
 * request by an idle timeout at the sidecar.
 */
export function createUpstreamClient(env: NodeJS.ProcessEnv = process.env): UpstreamClient {
  const proxyText = env.HTTP_PROXY || env.http_proxy;
  let proxy: URL | undefined;
  if (proxyText) {
    try {
      proxy = new URL(proxyText.includes("://") ? proxyText : `http://${proxyText}`);
    } catch {
      throw new SampleError(`HTTP_PROXY must be a URL such as http://127.0.0.1:15001, got "${proxyText}"`);
    }
    if (proxy.protocol !== "http:") throw new SampleError(`HTTP_PROXY must be an http:// URL, got "${proxyText}"`);
  }
  const noProxy = (env.NO_PROXY ?? env.no_proxy ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);

  function proxyFor(url: string): URL | undefined {
    if (!proxy) return undefined;
    const host = new URL(url).hostname.toLowerCase();
    for (const entry of noProxy) {
      if (entry === "*") return undefined;
      const bare = entry.replace(/^\*?\./, "").replace(/:\d+$/, "");
      if (host === bare || host.endsWith(`.${bare}`)) return undefined;
    }
    return proxy;
  }

  function get(url: string, request: UpstreamRequest): Promise<UpstreamResponse> {
    const target = new URL(url);
    const via = proxyFor(url);
    const options: http.RequestOptions = {
      method: "GET",
      host: via ? via.hostname : target.hostname,
      port: via ? via.port || 80 : target.port || 80,
      path: via ? target.href : `${target.pathname}${target.search}`,
      headers: { ...request.headers, host: target.host },
      agent: false,
    };
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, res?: UpstreamResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(res!);
      };
      const req = http.request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", (e) => finish(e));
      });
      const timer = setTimeout(() => {
        const err = new UpstreamTimeoutError(url, request.timeoutMs);
        finish(err);
        req.destroy(err);
      }, request.timeoutMs);
      req.on("error", (e) => finish(e));
      req.end();
    });
  }

  return { get, proxyFor };
}
