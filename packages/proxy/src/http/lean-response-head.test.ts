import { describe, expect, it } from "vitest";
import { serializeChunkedEnd, serializeResponseHead } from "./lean-response-head.js";

describe("serializeResponseHead", () => {
  it("writes the status line and the headers in order, without hop-by-hop ones", () => {
    const h = serializeResponseHead(200, { server: "envoy", connection: "keep-alive", "keep-alive": "timeout=5", "content-length": "5", "set-cookie": ["a=1", "b=2"] }, false, false, false);
    expect(h).toEqual({ text: "HTTP/1.1 200 OK\r\nserver: envoy\r\ncontent-length: 5\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n", framing: "length" });
  });

  it("frames by what it wrote: chunked or content-length: 0 without a length, none for bodiless responses", () => {
    expect(serializeResponseHead(200, { a: "1" }, false, false, false)).toEqual({ text: "HTTP/1.1 200 OK\r\na: 1\r\ntransfer-encoding: chunked\r\n\r\n", framing: "chunked" });
    expect(serializeResponseHead(503, {}, false, true, true)).toEqual({ text: "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n", framing: "length" });
    expect(serializeResponseHead(204, {}, false, false, false).framing).toBe("none");
    expect(serializeResponseHead(200, { "content-length": "9" }, true, true, false)).toEqual({ text: "HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n", framing: "none" });
  });

  it("drops a header whose name is not a token or whose value holds a control, keeping the rest", () => {
    const h = serializeResponseHead(200, { "bad name": "x", "x-split": "a\r\nx-injected: 1", "x-ctl": "a\u0001b", "x-wide": "\u0100", "x-ok": "ok", "content-length": "2" }, false, false, false);
    expect(h.text).toBe("HTTP/1.1 200 OK\r\nx-ok: ok\r\ncontent-length: 2\r\n\r\n");
  });

  it("does not count a dropped content-length as framing", () => {
    expect(serializeResponseHead(200, { "content-length": "1\r\n" }, false, false, false)).toEqual({ text: "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", framing: "chunked" });
  });

  it("writes each response's own values when they change between responses", () => {
    const texts = ["1", "22", "1", "3"].map((v) => serializeResponseHead(200, { date: `d${v}`, "content-length": v }, false, false, false).text);
    expect(texts).toEqual(["1", "22", "1", "3"].map((v) => `HTTP/1.1 200 OK\r\ndate: d${v}\r\ncontent-length: ${v}\r\n\r\n`));
  });
});

describe("serializeChunkedEnd", () => {
  it("ends the body with the trailers that may be written", () => {
    expect(serializeChunkedEnd(undefined)).toBe("0\r\n\r\n");
    expect(serializeChunkedEnd({ "grpc-status": "0", te: "trailers", "x-bad": "a\nb" })).toBe("0\r\ngrpc-status: 0\r\n\r\n");
  });
});
