import { describe, expect, it } from "vitest";
import { Readable } from "node:stream";
import { sendsChunked, serializeRequestHead, unsafeField } from "./http1-request-writer.js";
import type { UpstreamHeaders, UpstreamRequest } from "./upstream-stream.js";

const req = (headers: UpstreamHeaders, over: Partial<UpstreamRequest> = {}): UpstreamRequest => ({
  method: "GET",
  path: "/",
  authority: "backend.test:8080",
  scheme: "http",
  headers,
  body: null,
  ...over,
});

describe("serializeRequestHead", () => {
  it("writes the request line, the headers in order, host from the authority, and the blank line", () => {
    const r = req({ "x-forwarded-proto": "http", "x-request-id": "abc", "set-cookie": ["a=1", "b=2"] }, { path: "/p?q=1" });
    expect(serializeRequestHead(r, false)).toBe(
      "GET /p?q=1 HTTP/1.1\r\nhost: backend.test:8080\r\nx-forwarded-proto: http\r\nx-request-id: abc\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n",
    );
  });

  it("keeps a host header as given and adds chunked framing when asked", () => {
    const r = req({ host: "h.test", "content-type": "text/plain" }, { method: "POST", body: Readable.from([]) });
    expect(sendsChunked(r)).toBe(true);
    expect(serializeRequestHead(r, true)).toBe("POST / HTTP/1.1\r\nhost: h.test\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n");
  });

  it("never reuses a line or request line for a different value", () => {
    const heads = [
      ["GET", "/a", "1"],
      ["GET", "/a", "2"],
      ["GET", "/b", "2"],
      ["PUT", "/b", "2"],
      ["GET", "/a", "1"],
    ].map(([method, path, id]) => serializeRequestHead(req({ "x-id": id }, { method, path }), false));
    expect(heads).toEqual([
      "GET /a HTTP/1.1\r\nhost: backend.test:8080\r\nx-id: 1\r\n\r\n",
      "GET /a HTTP/1.1\r\nhost: backend.test:8080\r\nx-id: 2\r\n\r\n",
      "GET /b HTTP/1.1\r\nhost: backend.test:8080\r\nx-id: 2\r\n\r\n",
      "PUT /b HTTP/1.1\r\nhost: backend.test:8080\r\nx-id: 2\r\n\r\n",
      "GET /a HTTP/1.1\r\nhost: backend.test:8080\r\nx-id: 1\r\n\r\n",
    ]);
  });

  it.each([
    ["a value", req({ "x-bad": "a\r\nx-injected: 1" }), "x-bad"],
    ["a value with a bare LF", req({ "x-bad": "a\nb" }), "x-bad"],
    ["a value with NUL", req({ "x-bad": "a\0b" }), "x-bad"],
    ["one of a list", req({ "x-list": ["ok", "b\rc"] }), "x-list"],
    ["the path", req({}, { path: "/a\r\nx: y" }), ":path"],
    ["the authority", req({}, { authority: "a\r\nb" }), ":authority"],
    // A LF in the text stays a LF after UTF-8 encoding: still refused.
    ["a wide value that also holds a LF", req({ "x-wide": "\u2192\nx-injected: 1" }), "x-wide"],
  ])("refuses %s that would split the head, and names it", (_what, r, field) => {
    expect(serializeRequestHead(r, false)).toBeUndefined();
    expect(unsafeField(r)).toBe(field);
    // The refusal is not remembered as a good line: the next clean request goes out whole.
    expect(serializeRequestHead(req({ "x-bad": "fine", "x-list": "fine" }), false)).toContain("x-bad: fine\r\nx-list: fine\r\n\r\n");
  });

  it("sends a string holding characters above U+00FF as its UTF-8 bytes, never cut to its low bytes", () => {
    // Written as latin1, U+010A would lose its high byte and become a LF (a header injection).
    const head = serializeRequestHead(req({ "x-wide": "caf\u00e9 \u010Ax-injected: 1", "x-raw": "caf\u00e9" }), false)!;
    expect(head).toBeDefined();
    const wire = Buffer.from(head, "latin1");
    expect(wire.toString("latin1").split("\r\n").filter((l) => l.startsWith("x-injected"))).toEqual([]);
    // The wide value as UTF-8; a value without wide characters keeps its bytes (é as 0xE9, as received).
    expect(head).toContain(`x-wide: ${Buffer.from("caf\u00e9 \u010Ax-injected: 1", "utf8").toString("latin1")}\r\n`);
    expect(head).toContain("x-raw: caf\u00e9\r\n");
  });
});
