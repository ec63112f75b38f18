import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { HttpConnectionManagerSchema } from "@weft/xds-api/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { compileRequestLimits } from "./request-limits.js";
import { validateRequestHead, type RawRequestHead } from "./validate-request.js";

const limits = compileRequestLimits(create(HttpConnectionManagerSchema, { statPrefix: "t" }), "l", "hcm", () => {});

const h1 = (target: string, ...raw: string[]): RawRequestHead => ({ protocol: "HTTP/1.1", method: "GET", target, rawHeaders: ["Host", "a", ...raw] });
const h2 = (...raw: string[]): RawRequestHead => ({ protocol: "HTTP/2", rawHeaders: [":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/", ...raw] });

const refused = (head: RawRequestHead, status: number, details?: string): void => {
  const v = validateRequestHead(head, limits);
  expect(v.ok).toBe(false);
  if (!v.ok) {
    expect(v.status).toBe(status);
    if (details) expect(v.details).toBe(details);
  }
};

describe("validateRequestHead() — framing", () => {
  it("refuses Content-Length with Transfer-Encoding", () => refused({ ...h1("/", "Content-Length", "3", "Transfer-Encoding", "chunked"), method: "POST" }, 400, "http1.content_length_and_chunked_not_allowed"));
  it("refuses two Content-Lengths, even equal ones", () => refused(h1("/", "Content-Length", "3", "content-length", "3"), 400, "http1.multiple_content_length"));
  it("refuses a Content-Length that is not a number", () => refused(h1("/", "Content-Length", "3, 3"), 400));
  it("answers 501 to a Transfer-Encoding other than chunked", () => refused(h1("/", "Transfer-Encoding", "gzip, chunked"), 501));
  it("refuses Transfer-Encoding in HTTP/1.0", () => refused({ ...h1("/", "Transfer-Encoding", "chunked"), protocol: "HTTP/1.0" }, 400));
  it("refuses Transfer-Encoding in HTTP/2", () => refused(h2("transfer-encoding", "chunked"), 400));
});

describe("validateRequestHead() — characters", () => {
  it.each([
    ["NUL", "a\u0000b"],
    ["bare CR", "a\rb"],
    ["bare LF", "a\nb"],
    ["obs-fold", "a\r\n b"],
    ["another control", "a\u0001b"],
    ["DEL", "a\u007fb"],
  ])("refuses %s in a value", (_n, value) => refused(h1("/", "x-a", value), 400, "http1.invalid_characters"));

  it.each(["x a", "x:a", "x(a)", "", "x\u00e9"])("refuses the header name %j", (name) => refused(h1("/", name, "v"), 400));

  it("refuses upper-case names and padded values in HTTP/2", () => {
    refused(h2("X-A", "v"), 400, "http2.invalid.header.field");
    refused(h2("x-a", " v"), 400, "http2.invalid.header.field");
  });

  it("refuses a lower-case or non-token method", () => {
    refused({ ...h1("/"), method: "get" }, 400);
    refused({ ...h1("/"), method: "G T" }, 400);
  });

  it("accepts tabs and obs-text in values", () => {
    expect(validateRequestHead(h1("/", "x-a", "a\tb\u00e9"), limits).ok).toBe(true);
  });
});

describe("validateRequestHead() — Host and :authority", () => {
  it("refuses a duplicate Host", () => refused(h1("/", "Host", "b"), 400, "http1.multiple_host"));
  it("refuses Host ≠ :authority", () => refused(h2("host", "b"), 400, "http2.host_authority_mismatch"));
  it("accepts Host = :authority (case-insensitive)", () => expect(validateRequestHead(h2("host", "A"), limits).ok).toBe(true));
  it("refuses HTTP/1.1 without Host", () => refused({ protocol: "HTTP/1.1", method: "GET", target: "/", rawHeaders: [] }, 400, "missing_host_header"));
  it("accepts HTTP/1.0 without Host", () => expect(validateRequestHead({ protocol: "HTTP/1.0", method: "GET", target: "/", rawHeaders: [] }, limits).ok).toBe(true));
  it("takes the authority of an absolute-form target, normalized", () => {
    const v = validateRequestHead({ protocol: "HTTP/1.1", method: "GET", target: "http://Foo.COM./x/../p?q", rawHeaders: [] }, limits);
    expect(v).toMatchObject({ ok: true, authority: "foo.com", path: "/p?q", scheme: "http" });
    refused({ protocol: "HTTP/1.1", method: "GET", target: "http://foo.com/p", rawHeaders: ["Host", "bar.com"] }, 400);
    refused({ protocol: "HTTP/1.1", method: "GET", target: "ftp://foo.com/p", rawHeaders: [] }, 400, "http1.invalid_url");
  });
  it("refuses userinfo and junk in the authority", () => {
    refused({ protocol: "HTTP/2", rawHeaders: [":method", "GET", ":scheme", "http", ":authority", "u@a", ":path", "/"] }, 400, "invalid_authority");
    refused({ protocol: "HTTP/1.1", method: "GET", target: "/", rawHeaders: ["Host", "a b"] }, 400, "invalid_authority");
  });
  it("lower-cases the host and strips a trailing dot", () => {
    expect(validateRequestHead({ protocol: "HTTP/1.1", method: "GET", target: "/", rawHeaders: ["Host", "Svc.NS.svc.cluster.local.:8080"] }, limits)).toMatchObject({ ok: true, authority: "svc.ns.svc.cluster.local:8080" });
  });
});

describe("validateRequestHead() — limits", () => {
  it("answers 431 above max_headers_count", () => {
    const raw: string[] = [];
    for (let i = 0; i < 100; i++) raw.push(`x-h${i}`, "v");
    refused(h1("/", ...raw), 431, "http1.too_many_headers");
    expect(validateRequestHead(h1("/", ...raw.slice(2)), limits).ok).toBe(true);
  });
  it("answers 431 above max_request_headers_kb", () => {
    refused(h1("/", "x-big", "v".repeat(60 * 1024)), 431, "http1.headers_too_large");
    expect(validateRequestHead(h1("/", "x-big", "v".repeat(59 * 1024)), limits).ok).toBe(true);
  });
  it("applies headers_with_underscores_action", () => {
    const hcm = create(HttpConnectionManagerSchema, { statPrefix: "t", commonHttpProtocolOptions: { headersWithUnderscoresAction: 1 } });
    const reject = compileRequestLimits(hcm, "l", "hcm", () => {});
    expect(validateRequestHead(h1("/", "x_a", "v"), reject)).toMatchObject({ ok: false, status: 400, details: "http1.unexpected_underscore" });
    const drop = compileRequestLimits(create(HttpConnectionManagerSchema, { statPrefix: "t", commonHttpProtocolOptions: { headersWithUnderscoresAction: 2 } }), "l", "hcm", () => {});
    const v = validateRequestHead(h1("/", "x_a", "v", "x-b", "w"), drop);
    expect(v).toMatchObject({ ok: true, droppedUnderscoreHeaders: 1, headers: { "x-b": "w" } });
    expect(validateRequestHead(h1("/", "x_a", "v"), limits)).toMatchObject({ ok: true, headers: { x_a: "v" } });
  });
});

describe("validateRequestHead() — HTTP/2 pseudo-headers and connection-specific fields", () => {
  it.each(["connection", "keep-alive", "proxy-connection", "upgrade"])("refuses %s", (n) => refused(h2(n, "x"), 400));
  it("allows only te: trailers", () => {
    refused(h2("te", "gzip"), 400);
    expect(validateRequestHead(h2("te", "trailers"), limits)).toMatchObject({ ok: true, headers: { te: "trailers" } });
  });
  it("refuses unknown, repeated or late pseudo-headers", () => {
    refused(h2(":foo", "x"), 400);
    refused({ protocol: "HTTP/2", rawHeaders: [":method", "GET", ":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/"] }, 400);
    refused({ protocol: "HTTP/2", rawHeaders: [":method", "GET", ":scheme", "http", "x-a", "b", ":authority", "a", ":path", "/"] }, 400);
  });
  it("refuses a missing :scheme and CONNECT", () => {
    refused({ protocol: "HTTP/2", rawHeaders: [":method", "GET", ":authority", "a", ":path", "/"] }, 400);
    refused({ protocol: "HTTP/2", rawHeaders: [":method", "CONNECT", ":authority", "a:443"] }, 403, "upgrade_failed");
    refused({ protocol: "HTTP/2", rawHeaders: [":method", "GET", ":scheme", "http", ":authority", "a"] }, 400, "http2.invalid_path");
  });
});

describe("validateRequestHead() — hop-by-hop headers", () => {
  it("strips the fixed set and whatever Connection names, keeping framing headers", () => {
    const v = validateRequestHead(
      { ...h1("/", "Connection", "close, X-Secret, content-length", "X-Secret", "s", "Keep-Alive", "1", "Proxy-Connection", "x", "Content-Length", "0", "Upgrade", "h2c", "TE", "trailers, deflate", "x-ok", "1"), method: "POST" },
      limits,
    );
    expect(v.ok && v.headers).toEqual({ "content-length": "0", te: "trailers", "x-ok": "1" });
  });
  it("folds repeated headers the way the forwarded request will carry them", () => {
    const v = validateRequestHead(h1("/", "Cookie", "a=1", "cookie", "b=2", "x-l", "1", "X-L", "2", "Set-Cookie", "s1", "set-cookie", "s2", "Authorization", "one", "authorization", "two"), limits);
    expect(v.ok && v.headers).toEqual({ cookie: "a=1; b=2", "x-l": "1, 2", "set-cookie": ["s1", "s2"], authorization: "one" });
  });
});

describe("validateRequestHead() — paths", () => {
  it.each([
    ["//p", "/p"],
    ["/./p", "/p"],
    ["/x/../p", "/p"],
    ["/%70", "/p"],
    ["/p#frag", "/p"],
    ["/P", "/P"],
  ])("normalizes %s to %s", (target, path) => {
    expect(validateRequestHead(h1(target), limits)).toMatchObject({ ok: true, path });
  });
  it("refuses a relative path and bad escapes with 400", () => {
    refused(h1("p"), 400);
    refused(h1("/a%zz"), 400, "path_normalization_failed");
    refused(h1("*"), 400);
    expect(validateRequestHead({ ...h1("*"), method: "OPTIONS" }, limits)).toMatchObject({ ok: true, path: "*" });
  });
  it("strips the matching port when strip_matching_host_port is set", () => {
    const l = compileRequestLimits(create(HttpConnectionManagerSchema, { statPrefix: "t", stripMatchingHostPort: true }), "l", "hcm", () => {});
    expect(validateRequestHead({ protocol: "HTTP/1.1", method: "GET", target: "/", rawHeaders: ["Host", "a:8080"], localPort: 8080 }, l)).toMatchObject({ ok: true, authority: "a" });
    expect(validateRequestHead({ protocol: "HTTP/1.1", method: "GET", target: "/", rawHeaders: ["Host", "a:9090"], localPort: 8080 }, l)).toMatchObject({ ok: true, authority: "a:9090" });
  });
});

describe("validateRequestHead() — header names", () => {
  it("lower-cases names in any spelling, known or not", () => {
    const v = validateRequestHead(h1("/", "Content-Type", "a", "USER-AGENT", "b", "X-Custom-Thing", "c", "accept", "d"), limits);
    expect(v.ok && v.headers).toEqual({ "content-type": "a", "user-agent": "b", "x-custom-thing": "c", accept: "d" });
  });

  it("still refuses an upper-case known name in HTTP/2", () => {
    const v = validateRequestHead(h2("Content-Type", "a"), limits);
    expect(v).toMatchObject({ ok: false, status: 400, details: "http2.invalid.header.field" });
  });
});
