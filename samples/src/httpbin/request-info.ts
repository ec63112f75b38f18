import type { IncomingMessage } from "node:http";

/**
 * `X-B3-Parentspanid` from `x-b3-parentspanid`: httpbin (Flask/Werkzeug) reads
 * headers back from the WSGI environ, which capitalises each dash-separated word
 * and lower-cases the rest. Clients compare against these exact spellings.
 */
export function titleCaseHeaderName(name: string): string {
  return name
    .split("-")
    .map((w) => (w ? w[0]!.toUpperCase() + w.slice(1).toLowerCase() : w))
    .join("-");
}

/** The request headers as httpbin reports them: title-cased names, sorted, repeated values joined with ",". */
export function reportedHeaders(req: IncomingMessage): Record<string, string> {
  const merged = new Map<string, string[]>();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = titleCaseHeaderName(raw[i]!);
    const list = merged.get(name);
    if (list) list.push(raw[i + 1]!);
    else merged.set(name, [raw[i + 1]!]);
  }
  const out: Record<string, string> = {};
  for (const name of [...merged.keys()].sort()) out[name] = merged.get(name)!.join(",");
  return out;
}

/** The caller's address: X-Forwarded-For when a proxy set it, else the peer address. */
export function origin(req: IncomingMessage): string {
  const xff = req.headers["x-forwarded-for"];
  if (xff) return Array.isArray(xff) ? xff.join(", ") : xff;
  const peer = req.socket.remoteAddress ?? "";
  return peer.startsWith("::ffff:") ? peer.slice(7) : peer;
}

/** The URL the client asked for, scheme from X-Forwarded-Proto as httpbin honours it. */
export function requestUrl(req: IncomingMessage): string {
  const raw = req.url ?? "/";
  if (/^https?:\/\//i.test(raw)) return raw;
  const proto = req.headers["x-forwarded-proto"] === "https" ? "https" : "http";
  return `${proto}://${req.headers.host ?? "localhost"}${raw}`;
}

/** Query parameters: a string per name, a list when a name repeats (httpbin's semantic dict). */
export function multiDict(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const all = params.getAll(key);
    out[key] = all.length === 1 ? all[0]! : all;
  }
  return out;
}

export interface BodyInfo {
  data: string;
  form: Record<string, string | string[]>;
  files: Record<string, string>;
  json: unknown;
}

/**
 * What httpbin reports about a request body: form posts go to `form` (with `data`
 * empty), anything else is echoed in `data`, and `json` holds the parsed body when
 * it is valid JSON, whatever the content type (null otherwise).
 */
export function describeBody(body: Buffer, contentType: string | undefined): BodyInfo {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  const text = body.toString("utf8");
  if (type === "application/x-www-form-urlencoded") {
    return { data: "", form: multiDict(new URLSearchParams(text)), files: {}, json: null };
  }
  let json: unknown = null;
  if (text.length > 0) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  return { data: text, form: {}, files: {}, json };
}
