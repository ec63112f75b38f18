import { describe, expect, it } from "vitest";
import { createResponseParser, parseHeaderBlock, ResponseParseError, type ResponseHeaders } from "./http1-response-parser.js";

interface ResponseHead {
  status: number;
  close: boolean;
  headers: ResponseHeaders;
  complete?: boolean;
}

function parse(chunks: Array<string | Buffer>, isHead = false, close = false) {
  let head: ResponseHead | undefined;
  const body: Buffer[] = [];
  let ended = false;
  let trailers: ResponseHeaders | undefined;
  const p = createResponseParser(isHead, {
    onHead: (status, headers, complete, close) => (head = { status, close, headers, complete }),
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
      expect(r.head).toEqual({ status: 200, close: false, complete: false, headers: { "content-type": "text/plain", "set-cookie": ["a=1", "b=2"], "content-length": "5" } });
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

  it("marks responses without a body as complete in onHead: HEAD, 204, 304, Content-Length: 0", () => {
    expect(parse(["HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"], true).head?.complete).toBe(true);
    expect(parse(["HTTP/1.1 204 No Content\r\n\r\n"]).head?.complete).toBe(true);
    expect(parse(["HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"]).head?.complete).toBe(true);
    expect(parse(["HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"]).head?.complete).toBe(true);
    expect(parse(["HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"]).head?.complete).toBe(false);
  });

  it("delivers head, body and end in one synchronous run when they arrive together", () => {
    const events: string[] = [];
    const p = createResponseParser(false, {
      onHead: (status) => events.push(`head ${status}`),
      onBody: (c) => events.push(`body ${c.toString()}`),
      onEnd: () => events.push("end"),
    });
    p.execute(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"));
    // Nothing deferred: all three happened inside execute().
    expect(events).toEqual(["head 200", "body hello", "end"]);
  });

  it("never keeps the caller's buffer: a split head survives the buffer being overwritten", () => {
    const heads: ResponseHeaders[] = [];
    const p = createResponseParser(false, { onHead: (_s, h) => heads.push(h), onBody: () => {}, onEnd: () => {} });
    const reused = Buffer.alloc(64);
    const feed = (s: string) => {
      const n = reused.write(s, "latin1");
      p.execute(reused.subarray(0, n));
      reused.fill(0x58); // what the next read would do to it
    };
    feed("HTTP/1.1 200 OK\r\nX-First: abc");
    feed("def\r\nContent-Length: 0\r\n\r\n");
    expect(heads[0]).toEqual({ "x-first": "abcdef", "content-length": "0" });
  });

  it("parses one response after another on the same connection after reset(), HEAD included", () => {
    const seen: Array<[number, string]> = [];
    let body = "";
    const p = createResponseParser(false, {
      onHead: (s) => seen.push([s, ""]),
      onBody: (c) => (body += c.toString()),
      onEnd: () => {
        seen[seen.length - 1]![1] = body;
        body = "";
      },
    });
    p.execute(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab"));
    expect(p.done).toBe(true);
    p.reset(true);
    expect(p.done).toBe(false);
    expect(p.started).toBe(false);
    p.execute(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"));
    p.reset(false);
    p.execute(Buffer.from("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\ncd\r\n0\r\n\r\n"));
    expect(seen).toEqual([
      [200, "ab"],
      [200, ""],
      [201, "cd"],
    ]);
  });

  it("reports bytes after the response (excess) before onEnd, then refuses them", () => {
    let excessAtEnd: boolean | undefined;
    const p = createResponseParser(false, { onHead: () => {}, onBody: () => {}, onEnd: () => (excessAtEnd = p.excess) });
    expect(() => p.execute(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\n\r\n"))).toThrow(/bytes after the response/);
    expect(excessAtEnd).toBe(true);
    // An onEnd that starts the next exchange (the pool reusing the connection) sees no excess and nothing is refused.
    const q = createResponseParser(false, { onHead: () => {}, onBody: () => {}, onEnd: () => q.reset(false) });
    q.execute(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"));
    expect(q.excess).toBe(false);
    expect(q.done).toBe(false);
  });

  it("accepts chunk extensions with BWS and refuses oversized chunk sizes and control bytes in extensions", () => {
    expect(parse(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3 ;a=b\r\nabc\r\n0\r\n\r\n"]).body).toBe("abc");
    expect(() => parse(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000\r\n"])).toThrow(/chunk size/);
    expect(() => parse(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;a\0b\r\nabc\r\n"])).toThrow(/chunk size/);
    expect(() => parse(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3x\r\nabc\r\n"])).toThrow(/chunk size/);
    expect(() => parse(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n"])).toThrow(/bare LF/);
  });
});

describe("parseHeaderBlock — names seen before", () => {
  const block = (lines: string[]): ResponseHeaders => {
    const into: ResponseHeaders = {};
    parseHeaderBlock(lines.join("\r\n"), into);
    return into;
  };

  it("maps every spelling to its lower-case name, response after response", () => {
    for (let round = 0; round < 3; round++) {
      expect(block(["Content-Type: a", "content-type: b", "CONTENT-TYPE: c"])).toEqual({ "content-type": ["a", "b", "c"] });
    }
  });

  it("tells apart names that share a length and their first and last characters", () => {
    for (let round = 0; round < 3; round++) {
      expect(block(["x-aa-z: 1", "x-bb-z: 2", "x-aa-z: 3", "X-CC-z: 4"])).toEqual({ "x-aa-z": ["1", "3"], "x-bb-z": "2", "x-cc-z": "4" });
    }
  });

  it("reads long names, which it does not remember", () => {
    const name = `X-${"Long".repeat(40)}`;
    for (let round = 0; round < 2; round++) expect(block([`${name}: 1`, "a: 2"])).toEqual({ [name.toLowerCase()]: "1", a: "2" });
  });

  it("still refuses a bad name that is close to a known one", () => {
    block(["x-aa-z: 1"]);
    expect(() => block(["x-a z: 1"])).toThrow(new ResponseParseError("invalid response header name 'x-a z'"));
    expect(() => block(["x-aa-z : 1"])).toThrow(ResponseParseError);
  });
});
