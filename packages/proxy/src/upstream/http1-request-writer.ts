// The request half of an HTTP/1.1 upstream exchange: the head as one latin1
// string (one write), and the body piped with its framing (Content-Length
// as given, else chunked), counted and under the socket's backpressure.
import type { Socket } from "node:net";
import type { Readable } from "node:stream";
import { createFieldLineCache } from "../http/field-line-cache.js";
import type { UpstreamRequest } from "./upstream-stream.js";

function count(s: string, ch: string): number {
  let n = 0;
  for (let i = s.indexOf(ch); i >= 0; i = s.indexOf(ch, i + 1)) n++;
  return n;
}

/** The body goes chunked: there is one and no Content-Length among the headers (RFC 9112 §6.1). */
export function sendsChunked(req: UpstreamRequest): boolean {
  return req.body !== null && req.headers["content-length"] === undefined;
}

// Lines are checked once for the whole head (below), so the cache takes every name and value.
const ANY = (): boolean => true;
const LINES = createFieldLineCache(ANY, ANY);

// The last request line: the same method and path (a health check, a hot endpoint) reuse it.
let lastMethod = "";
let lastPath = "";
let lastRequestLine = "";

function requestLine(method: string, path: string): string {
  if (method !== lastMethod || path !== lastPath) {
    lastMethod = method;
    lastPath = path;
    lastRequestLine = method + " " + path + " HTTP/1.1\r\n";
  }
  return lastRequestLine;
}

/**
 * The request head, CRLF CRLF included, or undefined when a field would split it (a CR, LF or NUL
 * in a value from config or a header mutation, or in the path, or a character latin1 can't carry:
 * `unsafeField` names it).
 * Downstream headers were checked by validate-request.ts already, so instead of testing each
 * value the whole head is checked once: it must hold exactly one CR and one LF per line, and no NUL.
 * Repeated lines come from a cache (field-line-cache.ts); the check still covers them.
 */
export function serializeRequestHead(req: UpstreamRequest, chunked: boolean): string | undefined {
  let text = requestLine(req.method, req.path);
  let lines = 2; // the request line and the empty line
  const h = req.headers;
  if (h["host"] === undefined) {
    text += LINES.line("host", req.authority)!;
    lines++;
  }
  for (const k in h) {
    const v = h[k];
    if (v === undefined) continue;
    if (typeof v === "string") {
      text += LINES.line(k, v)!;
      lines++;
    } else {
      for (let i = 0; i < v.length; i++) text += LINES.line(k, v[i])!;
      lines += v.length;
    }
  }
  if (chunked) {
    text += "transfer-encoding: chunked\r\n";
    lines++;
  }
  text += "\r\n";
  if (count(text, "\n") !== lines || count(text, "\r") !== lines || text.indexOf("\0") >= 0) return undefined;
  return WIDE.test(text) ? serializeRequestHead(asBytes(req), chunked) : text;
}

// The head goes out as latin1, one byte per character: a character above U+00FF would lose its high
// byte (U+010A would become a LF and split the head). Strings holding one are text, not bytes off the
// wire (config values are encoded when compiled, header-mutation.ts; this catches what a filter
// adds): they go as their UTF-8 bytes, as Envoy sends its strings. Bytes from the downstream are
// ≤ 0xFF already and stay as they are.
const WIDE = /[^\x00-\xff]/;
const UNSAFE = /[\r\n\0]/;

function bytesOf(s: string): string {
  return WIDE.test(s) ? Buffer.from(s, "utf8").toString("latin1") : s;
}

/** The request with every string that holds a character above U+00FF as its UTF-8 bytes. */
function asBytes(req: UpstreamRequest): UpstreamRequest {
  const headers: UpstreamRequest["headers"] = {};
  for (const k in req.headers) {
    const v = req.headers[k];
    if (v !== undefined) headers[bytesOf(k)] = typeof v === "string" ? bytesOf(v) : v.map(bytesOf);
  }
  return { ...req, method: bytesOf(req.method), path: bytesOf(req.path), authority: bytesOf(req.authority), headers };
}

/** The slow path, for the error only: which field holds the byte that would split the head. */
export function unsafeField(req: UpstreamRequest): string {
  if (UNSAFE.test(req.method)) return ":method";
  if (UNSAFE.test(req.path)) return ":path";
  for (const k in req.headers) {
    const v = req.headers[k];
    if (v === undefined) continue;
    if (UNSAFE.test(k) || (typeof v === "string" ? UNSAFE.test(v) : v.some((x) => UNSAFE.test(x)))) return k;
  }
  return ":authority";
}

export interface BodyPipe {
  /** The body ended and its framing went out. */
  bodySent(): void;
  /** The body stream failed: the exchange can't complete. */
  bodyFailed(): void;
  /** Stop sending (the exchange was aborted). */
  stopped(): boolean;
}

/** Pipes `body` to the socket, counting bytes; chunked framing goes out in the same writev as the data. */
export function pipeRequestBody(socket: Socket, body: Readable, chunked: boolean, onBody: ((chunk: Buffer) => void) | undefined, p: BodyPipe): void {
  const onChunk = (chunk: Buffer): void => {
    if (p.stopped() || socket.destroyed) return;
    onBody?.(chunk);
    let ok: boolean;
    if (chunked) {
      if (chunk.length === 0) return;
      socket.cork();
      socket.write(chunk.length.toString(16) + "\r\n", "latin1");
      socket.write(chunk);
      ok = socket.write("\r\n", "latin1");
      socket.uncork();
    } else ok = socket.write(chunk);
    if (!ok) {
      body.pause();
      socket.once("drain", () => body.resume());
    }
  };
  const onEnd = (): void => {
    cleanup();
    if (chunked && !socket.destroyed) socket.write("0\r\n\r\n", "latin1");
    p.bodySent();
  };
  const onError = (): void => {
    cleanup();
    p.bodyFailed();
  };
  const cleanup = (): void => {
    body.off("data", onChunk);
    body.off("end", onEnd);
    body.off("error", onError);
  };
  body.on("data", onChunk);
  body.once("end", onEnd);
  body.once("error", onError);
  if (body.readableEnded) onEnd();
  else body.resume();
}
