import { describe, expect, it } from "vitest";
import { INVALID_AUTHORITY, normalizeAuthority, normalizeAuthorityValue, normalizePath, removeDotSegments, type PathNormalization } from "./normalize-path.js";

const ok = (target: string, opts?: PathNormalization): string => {
  const r = normalizePath(target, opts);
  if (!r.ok) throw new Error(`${target} refused: ${r.details}`);
  return r.path;
};

describe("normalizePath() with Weft's defaults", () => {
  // The variants a DENY on /p must hold against (issue 7).
  it.each([
    ["//p", "/p"],
    ["/./p", "/p"],
    ["/x/../p", "/p"],
    ["/%70", "/p"],
    ["/p#frag", "/p"],
    ["/%2e%2E/p", "/p"],
    ["/x/%2e%2e/p", "/p"],
    ["///x//..//p", "/p"],
    ["/x/./y/../../p", "/p"],
    ["/../../p", "/p"],
    ["/p\\", "/p/"],
    ["/x\\..\\p", "/p"],
  ])("%s → %s", (input, want) => {
    expect(ok(input)).toBe(want);
  });

  it("does not fold the case of paths", () => {
    expect(ok("/P")).toBe("/P");
    expect(ok("/%50")).toBe("/P");
  });

  it("keeps the query byte for byte and drops only the fragment", () => {
    expect(ok("/a/../b?x=/../%2e&y=%zz")).toBe("/b?x=/../%2e&y=%zz");
    expect(ok("/b?q=1#frag?x")).toBe("/b?q=1");
    expect(ok("/b#frag?x")).toBe("/b");
  });

  it("keeps reserved escapes, in upper-case hex", () => {
    expect(ok("/a%2fb")).toBe("/a%2Fb");
    expect(ok("/a%5cb")).toBe("/a%5Cb");
    expect(ok("/a%3fb%25")).toBe("/a%3Fb%25");
  });

  it("keeps trailing slashes and dot-segment directory forms", () => {
    expect(ok("/a/")).toBe("/a/");
    expect(ok("/a/.")).toBe("/a/");
    expect(ok("/a/b/..")).toBe("/a/");
    expect(ok("/")).toBe("/");
  });

  it("escapes raw 8-bit bytes", () => {
    expect(ok("/caf\u00e9")).toBe("/caf%E9");
  });

  it.each([
    ["p", "invalid_path"],
    ["", "invalid_path"],
    ["*", "invalid_path"],
    ["/a%", "invalid_path_escape"],
    ["/a%2", "invalid_path_escape"],
    ["/a%zz", "invalid_path_escape"],
    ["/a%00", "invalid_path_escape"],
    ["/a b", "invalid_path"],
    ["/a\u0000", "invalid_path"],
    ["/a\r\n", "invalid_path"],
    ["/a\u0100", "invalid_path"],
    ["/a?b c", "invalid_query"],
  ])("refuses %j (%s)", (input, details) => {
    expect(normalizePath(input)).toEqual({ ok: false, details });
  });
});

describe("normalizePath() options", () => {
  it("normalize_path: false leaves escapes and dots alone (merge_slashes still applies)", () => {
    const o: PathNormalization = { normalize: false, mergeSlashes: true, escapedSlashes: "keep" };
    expect(ok("//a/./%70/../b", o)).toBe("/a/./%70/../b");
    expect(ok("/a/%2e%2e/b", { ...o, mergeSlashes: false })).toBe("/a/%2e%2e/b");
  });

  it("merge_slashes: false keeps empty segments", () => {
    expect(ok("//p//q", { normalize: true, mergeSlashes: false, escapedSlashes: "keep" })).toBe("//p//q");
  });

  it("REJECT_REQUEST refuses %2F and %5C", () => {
    const o: PathNormalization = { normalize: true, mergeSlashes: true, escapedSlashes: "reject" };
    expect(normalizePath("/a%2Fb", o)).toEqual({ ok: false, details: "escaped_slashes_rejected" });
    expect(normalizePath("/a%5cb", o)).toEqual({ ok: false, details: "escaped_slashes_rejected" });
    expect(ok("/a/b", o)).toBe("/a/b");
  });

  it("UNESCAPE_AND_FORWARD decodes before dot segments are resolved (DECODE_AND_MERGE_SLASHES)", () => {
    const o: PathNormalization = { normalize: true, mergeSlashes: true, escapedSlashes: "unescape_and_forward" };
    expect(normalizePath("/x%2F..%2Fp", o)).toEqual({ ok: true, path: "/p", redirect: false });
    expect(normalizePath("/x%5C%5Cp", o)).toEqual({ ok: true, path: "/x/p", redirect: false });
  });

  it("UNESCAPE_AND_REDIRECT asks for a redirect only when it changed something", () => {
    const o: PathNormalization = { normalize: true, mergeSlashes: true, escapedSlashes: "unescape_and_redirect" };
    expect(normalizePath("/a%2Fb", o)).toEqual({ ok: true, path: "/a/b", redirect: true });
    expect(normalizePath("/a/b", o)).toEqual({ ok: true, path: "/a/b", redirect: false });
  });
});

describe("removeDotSegments()", () => {
  it("follows RFC 3986 §5.2.4's examples on absolute paths", () => {
    expect(removeDotSegments("/a/b/c/./../../g")).toBe("/a/g");
    expect(removeDotSegments("/mid/content=5/../6")).toBe("/mid/6");
    expect(removeDotSegments("/a/..b/.c")).toBe("/a/..b/.c");
  });
});

describe("normalizeAuthority()", () => {
  it("lower-cases the host and strips one trailing dot", () => {
    expect(normalizeAuthority("Example.COM")).toEqual({ ok: true, authority: "example.com" });
    expect(normalizeAuthority("example.com.")).toEqual({ ok: true, authority: "example.com" });
    expect(normalizeAuthority("EXAMPLE.com.:8080")).toEqual({ ok: true, authority: "example.com:8080" });
    expect(normalizeAuthority("[::1]:80")).toEqual({ ok: true, authority: "[::1]:80" });
    expect(normalizeAuthority("[FE80::1]")).toEqual({ ok: true, authority: "[fe80::1]" });
  });

  it("strips ports per strip_any_host_port / strip_matching_host_port", () => {
    expect(normalizeAuthority("a.b:80", { stripAnyPort: true })).toEqual({ ok: true, authority: "a.b" });
    expect(normalizeAuthority("[::1]:80", { stripAnyPort: true })).toEqual({ ok: true, authority: "[::1]" });
    expect(normalizeAuthority("a.b:80", { stripAnyPort: false, stripMatchingPort: 80 })).toEqual({ ok: true, authority: "a.b" });
    expect(normalizeAuthority("a.b:81", { stripAnyPort: false, stripMatchingPort: 80 })).toEqual({ ok: true, authority: "a.b:81" });
    expect(normalizeAuthority("a.b:")).toEqual({ ok: true, authority: "a.b" });
  });

  it.each(["", "a b", "user@host", "a/b", "host:80:90", "host:abc", "host:123456", "[::1", "[::1]x", "[zz]", "\u0000", ":80"])("refuses %j", (a) => {
    expect(normalizeAuthority(a).ok).toBe(false);
  });
});

describe("normalizePath() on paths it leaves alone", () => {
  it("returns the target itself, or without its fragment, whatever the options", () => {
    const all: PathNormalization[] = [
      { normalize: true, mergeSlashes: true, escapedSlashes: "keep" },
      { normalize: false, mergeSlashes: false, escapedSlashes: "reject" },
      { normalize: true, mergeSlashes: false, escapedSlashes: "unescape_and_redirect" },
    ];
    for (const opts of all) {
      const t = "/api/v1/users/123.json?x=%2F&y=..//z";
      expect(normalizePath(t, opts)).toEqual({ ok: true, path: t, redirect: false });
      expect(ok("/a/b.c/d-e_f~g!$&'()*+,;=:@?q#frag", opts)).toBe("/a/b.c/d-e_f~g!$&'()*+,;=:@?q");
      expect(ok("/", opts)).toBe("/");
    }
  });

  it("still normalizes a path with a segment starting with a dot, an escape, a backslash or an empty segment", () => {
    expect(ok("/.well-known/x")).toBe("/.well-known/x");
    expect(ok("/a/./b/../c")).toBe("/a/c");
    expect(ok("/a/%62")).toBe("/a/b");
    expect(ok("/a\\b")).toBe("/a/b");
    expect(ok("/a//b")).toBe("/a/b");
    expect(normalizePath("/a b").ok).toBe(false);
  });
});

describe("normalizeAuthorityValue()", () => {
  // Each authority with the answer for: no stripping, strip_any_host_port, strip_matching_host_port
  // with the listener on 80, and on 19900 (null: refused). Taken from the regex implementation
  // this scanner replaced (session 4), so the fast path keeps its grammar exactly.
  const table: Array<[string, ...(string | null)[]]> = [
    ["example.com", "example.com", "example.com", "example.com", "example.com"],
    ["Example.COM", "example.com", "example.com", "example.com", "example.com"],
    ["example.com.", "example.com", "example.com", "example.com", "example.com"],
    ["EXAMPLE.com.:8080", "example.com:8080", "example.com", "example.com:8080", "example.com:8080"],
    ["a.b:80", "a.b:80", "a.b", "a.b", "a.b:80"],
    ["a.b:81", "a.b:81", "a.b", "a.b:81", "a.b:81"],
    ["a.b:", "a.b", "a.b", "a.b", "a.b"],
    ["127.0.0.1:19900", "127.0.0.1:19900", "127.0.0.1", "127.0.0.1:19900", "127.0.0.1"],
    ["127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1"],
    [".", ".", ".", ".", "."],
    ["a.", "a", "a", "a", "a"],
    ["A", "a", "a", "a", "a"],
    ["x-y_z~!$&'()*+,;=%41:0", "x-y_z~!$&'()*+,;=%41:0", "x-y_z~!$&'()*+,;=%41", "x-y_z~!$&'()*+,;=%41:0", "x-y_z~!$&'()*+,;=%41:0"],
    ["[::1]:80", "[::1]:80", "[::1]", "[::1]", "[::1]:80"],
    ["[FE80::1]", "[fe80::1]", "[fe80::1]", "[fe80::1]", "[fe80::1]"],
    ["[::1]", "[::1]", "[::1]", "[::1]", "[::1]"],
    ["[v1.x]:9", "[v1.x]:9", "[v1.x]", "[v1.x]:9", "[v1.x]:9"],
    ...["a b", "user@host", "a/b", "host:80:90", "host:abc", "host:123456", "[::1", "[::1]x", "[zz]", "\u0000", ":80", "h\u0100st", "host:8\u00e90", ""].map(
      (a): [string, null, null, null, null] => [a, null, null, null, null],
    ),
  ];
  const options = [[false, undefined], [true, undefined], [false, 80], [false, 19900]] as const;
  it.each(table)("%j", (authority, ...want) => {
    options.forEach(([stripAnyPort, stripMatchingPort], i) => {
      expect(normalizeAuthorityValue(authority, stripAnyPort, stripMatchingPort), `${stripAnyPort} ${stripMatchingPort}`).toBe(want[i] === null ? INVALID_AUTHORITY : want[i]);
      const r = normalizeAuthority(authority, { stripAnyPort, stripMatchingPort });
      expect(r.ok ? r.authority : null).toBe(want[i]);
    });
  });

  it("returns an authority that needs no change as it came", () => {
    const a = Buffer.from("backend.default.svc:8080", "latin1").toString("latin1");
    expect(Object.is(normalizeAuthorityValue(a, false, 80), a)).toBe(true);
  });
});
