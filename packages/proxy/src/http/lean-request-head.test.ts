import { describe, expect, it } from "vitest";
import { parseLeanRequestHead, type LeanRequestHead } from "./lean-request-head.js";

const parse = (s: string, maxHead = 8192, maxHeaders = 101) => parseLeanRequestHead(Buffer.from(s, "latin1"), 0, maxHead, maxHeaders);
const ok = (s: string): LeanRequestHead => {
  const r = parse(s);
  if (typeof r === "string") throw new Error(`expected a head, got ${r}`);
  return r;
};

describe("parseLeanRequestHead", () => {
  it("parses a keep-alive GET with its raw header list and the end offset", () => {
    const text = "GET /a?b=1 HTTP/1.1\r\nHost: x.test\r\nX-Two:  spaced value \t\r\n\r\nNEXT";
    const h = ok(text);
    expect(h).toMatchObject({ method: "GET", target: "/a?b=1", contentLength: 0, keepAlive: true });
    expect(h.rawHeaders).toEqual(["Host", "x.test", "X-Two", "spaced value"]);
    expect(text.slice(h.end)).toBe("NEXT");
  });

  it("reads one Content-Length of digits and Connection: close among other tokens", () => {
    const h = ok("POST / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\nContent-Length: 12\r\n\r\n");
    expect(h.contentLength).toBe(12);
    expect(h.keepAlive).toBe(false);
    expect(ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: x-closed\r\n\r\n").keepAlive).toBe(true);
  });

  it("waits for the rest of a head split anywhere", () => {
    const text = "GET /split HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n";
    for (let i = 0; i < text.length; i++) expect(parse(text.slice(0, i)), `cut at ${i}`).toBe("incomplete");
    expect(typeof parse(text)).toBe("object");
  });

  it.each([
    ["HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\n\r\n"],
    ["Transfer-Encoding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"],
    ["Upgrade", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"],
    ["Connection: upgrade alone", "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n"],
    ["Expect", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n"],
    ["CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"],
    ["two Content-Lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\n"],
    ["a signed Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n"],
    ["a Content-Length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n"],
    ["a 16-digit Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1234567890123456\r\n\r\n"],
    ["obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n folded\r\n\r\n"],
    ["a bare LF", "GET / HTTP/1.1\nHost: a\r\n\r\n"],
    ["a bare LF after a header", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"],
    ["a bare CR in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: b\rc\r\n\r\n"],
    ["NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: b\0c\r\n\r\n"],
    ["obs-text in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xe9\r\n\r\n"],
    ["whitespace before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n"],
    ["a separator in a name", "GET / HTTP/1.1\r\nX(A): b\r\n\r\n"],
    ["an empty name", "GET / HTTP/1.1\r\n: b\r\n\r\n"],
    ["a space in the target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"],
    ["a control byte in the target", "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n"],
    ["two spaces after the method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n"],
    ["a leading empty line", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"],
    ["a lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n"],
    ["HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"],
  ])("hands off %s to node:http", (_name, text) => {
    expect(parse(text)).toBe("handoff");
  });

  it("hands off heads beyond the codec's byte cap, complete or not", () => {
    const big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + "v".repeat(300) + "\r\n\r\n";
    expect(parse(big, 200)).toBe("handoff");
    expect(parse(big.slice(0, 250), 200)).toBe("handoff");
    expect(typeof parse(big, 400)).toBe("object");
  });

  it("hands off more headers than the codec's count cap", () => {
    const lines = Array.from({ length: 5 }, (_, i) => `X-${i}: v`).join("\r\n");
    expect(parse(`GET / HTTP/1.1\r\n${lines}\r\n\r\n`, 8192, 4)).toBe("handoff");
    expect(typeof parse(`GET / HTTP/1.1\r\n${lines}\r\n\r\n`, 8192, 5)).toBe("object");
  });

  it("starts at an offset (the next pipelined request)", () => {
    const text = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
    const first = ok(text);
    const second = parseLeanRequestHead(Buffer.from(text), first.end, 8192, 101);
    expect(second).toMatchObject({ target: "/2", end: text.length });
  });
});

describe("parseLeanRequestHead — strings it hands out", () => {
  it("keeps each head's header list its own", () => {
    const a = ok("GET /a HTTP/1.1\r\nHost: a\r\nX-One: 1\r\nX-Two: 2\r\n\r\n");
    const b = ok("POST /b HTTP/1.1\r\nhost: b\r\nContent-Length: 0\r\n\r\n");
    expect(a.rawHeaders).toEqual(["Host", "a", "X-One", "1", "X-Two", "2"]);
    expect(b.rawHeaders).toEqual(["host", "b", "Content-Length", "0"]);
    expect(b).toMatchObject({ method: "POST", target: "/b" });
  });

  it("keeps the case of known names and methods as sent, and reads unknown ones too", () => {
    const h = ok("PATCH / HTTP/1.1\r\nUSER-AGENT: x\r\nUser-Agent: y\r\nuser-agent: z\r\nHosT: h\r\nAccept-Encodinh: q\r\n\r\n");
    expect(h.method).toBe("PATCH");
    expect(h.rawHeaders).toEqual(["USER-AGENT", "x", "User-Agent", "y", "user-agent", "z", "HosT", "h", "Accept-Encodinh", "q"]);
    expect(ok("GETX / HTTP/1.1\r\nHost: a\r\n\r\n").method).toBe("GETX");
    expect(ok("get / HTTP/1.1\r\nHost: a\r\n\r\n").method).toBe("get");
  });

  it("recognizes framing headers in the known spellings and others", () => {
    expect(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")).toBe("handoff");
    expect(parse("POST / HTTP/1.1\r\nHost: a\r\nTRANSFER-ENCODING: chunked\r\n\r\n")).toBe("handoff");
    expect(ok("POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 7\r\n\r\n").contentLength).toBe(7);
    expect(ok("POST / HTTP/1.1\r\nHost: a\r\nCONTENT-LENGTH: 8\r\n\r\n").contentLength).toBe(8);
    expect(ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keepAlive).toBe(false);
  });
});
