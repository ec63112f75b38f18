/** A request through the ingress (or anywhere on this machine): status, body, headers; never throws on HTTP errors. */
export async function get(url: string, options: { host?: string; cookie?: string; timeoutMs?: number } = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (options.host) headers.host = options.host;
  if (options.cookie) headers.cookie = options.cookie;
  const res = await fetch(url, { headers, redirect: "manual", signal: AbortSignal.timeout(options.timeoutMs ?? 15_000) });
  return { status: res.status, body: await res.text(), headers: res.headers };
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
