import { request, type IncomingHttpHeaders } from "node:http";

/**
 * A GET through the ingress (or anywhere on this machine): status, body,
 * headers; never throws on HTTP errors. node:http, not fetch: fetch drops a
 * caller-set Host header (a forbidden header in the Fetch standard), and
 * gateway routing is by Host.
 */
export function get(url: string, options: { host?: string; cookie?: string; timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.host) headers.host = options.host;
  if (options.cookie) headers.cookie = options.cookie;
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, timeout: options.timeoutMs ?? 15_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url}: no answer within ${options.timeoutMs ?? 15_000} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** Signs in to Bookinfo's productpage as `user` and returns the session cookie. */
export async function login(ingress: string, user: string): Promise<string> {
  const res = await fetch(`${ingress}/login`, { method: "POST", body: new URLSearchParams({ username: user, passwd: "password" }), redirect: "manual" });
  const cookie = res.headers.get("set-cookie");
  if (!cookie) throw new Error(`login as ${user}: no session cookie (HTTP ${res.status})`);
  return cookie.split(";")[0];
}

export type Stars = "none" | "black" | "red" | "unavailable";

/** Which reviews version rendered a productpage: v1 no stars, v2 black, v3 red. */
export function starsOf(html: string): Stars {
  if (html.includes('<font color="red">')) return "red";
  if (html.includes('<font color="black">')) return "black";
  if (html.includes("Ratings service is currently unavailable")) return "unavailable";
  return "none";
}

export async function eventually<T>(what: string, attempt: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let error: unknown;
  while (Date.now() < deadline) {
    try {
      last = await attempt();
      if (accept(last)) return last;
    } catch (e) {
      error = e;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${what}: not true within ${timeoutMs} ms; last: ${JSON.stringify(last)?.slice(0, 400) ?? String(error)}`);
}

/** The pids of `pids` that are still running. */
export function stillRunning(pids: readonly number[]): number[] {
  return pids.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
}
