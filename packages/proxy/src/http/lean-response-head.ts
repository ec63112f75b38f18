// Serializes an HTTP/1.1 response head for the lean codec: the status line,
// the headers (hop-by-hop ones dropped: the codec frames the message itself),
// then the framing it chose. A header that would break the message — a name
// that is not a token, a value with CR, LF, NUL or another control — is dropped, never written
// (node:http would throw; an upstream's headers were already checked by the
// response parser, so this only catches config and filter mutations).
import { STATUS_CODES } from "node:http";
import type { Headers } from "./request-context.js";
import { isHopByHop } from "./downstream.js";
import { isToken, isValidFieldValue } from "./field-syntax.js";
import { createFieldLineCache } from "./field-line-cache.js";

// Hop-by-hop names are never written (the codec frames the message itself); nor are non-tokens.
const LINES = createFieldLineCache((name) => !isHopByHop(name) && isToken(name), isValidFieldValue);

const statusLines = new Map<number, string>();

function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\n`;
    if (status >= 100 && status < 600) statusLines.set(status, line);
  }
  return line;
}


export type ResponseFraming = "length" | "chunked" | "none";

export interface ResponseHead {
  text: string;
  framing: ResponseFraming;
}

/**
 * `bodiless`: a response to HEAD, or a 1xx/204/304, which never has a body.
 * `endStream`: no body follows, so a missing Content-Length becomes 0.
 */
export function serializeResponseHead(status: number, headers: Headers, bodiless: boolean, endStream: boolean, close: boolean): ResponseHead {
  let text = statusLine(status);
  let hasLength = false;
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    if (typeof v === "string") {
      const line = LINES.line(name, v);
      if (line === undefined) continue;
      text += line;
    } else {
      let wrote = false;
      for (let i = 0; i < v.length; i++) {
        const line = LINES.line(name, v[i]);
        if (line === undefined) continue;
        text += line;
        wrote = true;
      }
      if (!wrote) continue;
    }
    if (name === "content-length") hasLength = true;
  }
  let framing: ResponseFraming = "length";
  if (bodiless || status === 204 || status === 304 || status < 200) framing = "none";
  else if (!hasLength) {
    if (endStream) text += "content-length: 0\r\n";
    else {
      text += "transfer-encoding: chunked\r\n";
      framing = "chunked";
    }
  }
  if (close) text += "connection: close\r\n";
  return { text: text + "\r\n", framing };
}

/** The last chunk and trailer section of a chunked body. */
export function serializeChunkedEnd(trailers: Headers | undefined): string {
  let text = "0\r\n";
  if (trailers) {
    for (const name in trailers) {
      const v = trailers[name];
      if (v === undefined || isHopByHop(name) || !isToken(name)) continue;
      for (const x of typeof v === "string" ? [v] : v) if (isValidFieldValue(x)) text += name + ": " + x + "\r\n";
    }
  }
  return text + "\r\n";
}
