import type { IncomingMessage, ServerResponse } from "node:http";

/** Send a JSON body as Python's json.dumps(indent=2) writes it, with a trailing newline like httpbin. */
export function sendJson(res: ServerResponse, status: number, body: unknown, pretty = false, extraHeaders: Record<string, string> = {}): void {
  const text = pretty ? `${JSON.stringify(body, null, 2)}\n` : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...extraHeaders });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType = "text/plain; charset=utf-8", extraHeaders: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text), ...extraHeaders });
  res.end(text);
}

/** The request body, up to `limit` bytes; larger bodies reject with a 413-worthy error. */
export function readBody(req: IncomingMessage, limit = 10 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new BodyTooLargeError(limit));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body larger than ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/** Path without the query string, and the parsed query. */
export function splitUrl(req: IncomingMessage): { path: string; query: URLSearchParams } {
  const raw = req.url ?? "/";
  // Absolute-form request targets (a client talking to us as if we were a proxy) still route by path.
  const url = new URL(raw, "http://placeholder");
  return { path: url.pathname, query: url.searchParams };
}
