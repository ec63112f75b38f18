import { describe, expect, it } from "vitest";
import { createResponseParser, ResponseParseError, type ResponseHead, type ResponseHeaders } from "./http1-response-parser.js";

function parse(chunks: Array<string | Buffer>, isHead = false, close = false) {
  let head: ResponseHead | undefined;
  const body: Buffer[] = [];
  let ended = false;
  let trailers: ResponseHeaders | undefined;
  const p = createResponseParser(isHead, {
    onHead: (h) => (head = h),
    onBody: (c) => body.push(Buffer.from(c)),
    onEnd: (t) => {
      ended = true;
      trailers = t;
    },
  });
  for (const c of chunks) p.execute(typeof c === "string" ? Buffer.from(c, "latin1") : c);
  if (close) p.finish();
  return { head, body: Buffer.concat(body).toString("latin1"), ended, trailers };
}

/** Feeds the message one byte at a time: framing must not depend on packet boundaries. */
const bytes = (s: string) => [...Buffer.from(s, "latin1")].map((b) => Buffer.from([b]));

describe("HTTP/1.1 response parser", () => {
  it("parses a Content-Length response, split anywhere", () => {
    const msg = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 5\r\n\r\nhello";
    for (const chunks of [[msg], bytes(msg)]) {
      const r = parse(chunks);
      expect(r.head).toEqual({ status: 200, close: false, headers: { "content-type": "text/plain", "set-cookie": ["a=1", "b=2"], "content-length": "5" } });
      expect(r.body).toBe("hello");
      expect(r.ended).toBe(true);
    }
  });

  it("parses chunked bodies with extensions and trailers, split anywhere", () => {
    const msg = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\ngrpc-status: 0\r\n\r\n";
    for (const chunks of [[msg], bytes(msg)]) {
      const r = parse(chunks);
      expect(r.body).toBe("hello world");
      expect(r.trailers).toEqual({ "grpc-status": "0" });
      expect(r.ended).toBe(true);
    }
    expect(parse(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"]).trailers).toBeUndefined();
  });

  it("skips 1xx interim responses and has no body for HEAD, 204 and 304", () => {
    const r = parse(["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"]);
    expect(r.head?.status).toBe(204);
    expect(r.ended).toBe(true);
    const head = parse(["HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"], true);
    expect(head.ended).toBe(true);
  });

  it("reads to the close without framing, and marks HTTP/1.0 and Connection: close as not reusable", () => {
    const r = parse(["HTTP/1.0 200 OK\r\n\r\nsome", " bytes"], false, true);
    expect(r.head?.close).toBe(true);
    expect(r.body).toBe("some bytes");
    expect(r.ended).toBe(true);
    expect(parse(["HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"]).head?.close).toBe(true);
    expect(parse(["HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"]).head?.close).toBe(false);
  });

  it.each([
    ["obs-fold", "HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n"],
    ["bare LF in a value", "HTTP/1.1 200 OK\r\nX-A: 1\nX-B: 2\r\nContent-Length: 0\r\n\r\n"],
    ["bare CR in a value", "HTTP/1.1 200 OK\r\nX-A: 1\rX-B: 2\r\nContent-Length: 0\r\n\r\n"],
    ["NUL in a value", "HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n"],
    ["space before the colon", "HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 0\r\n\r\n"],
    ["CL with TE", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"],
    ["conflicting CLs", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"],
    ["negative CL", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"],
    ["gzip TE", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"],
    ["bad status line", "HTTP/1.1 20 OK\r\n\r\n"],
    ["HTTP/2 status line", "HTTP/2 200 OK\r\n\r\n"],
    ["bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
    ["chunk without CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXX"],
    ["bytes after the response", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\n\r\n"],
    ["101 on a proxied request", "HTTP/1.1 101 Switching Protocols\r\n\r\n"],
  ])("refuses %s", (_name, msg) => {
    expect(() => parse([msg])).toThrow(ResponseParseError);
  });

  it("refuses a head over 80 KiB and a close mid-body", () => {
    expect(() => parse(["HTTP/1.1 200 OK\r\n" + "x-a: b\r\n".repeat(12_000)])).toThrow(/too large/);
    expect(() => parse(["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"], false, true)).toThrow(/closed before/);
  });
});
