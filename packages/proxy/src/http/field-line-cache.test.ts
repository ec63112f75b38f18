import { describe, expect, it } from "vitest";
import { createFieldLineCache } from "./field-line-cache.js";
import { isToken, isValidFieldValue } from "./field-syntax.js";

/** A fresh string object with `s`'s content (not the literal the test wrote). */
const fresh = (s: string): string => Buffer.from(s, "latin1").toString("latin1");

describe("createFieldLineCache", () => {
  it("returns `name: value` CRLF, the same string while the value repeats", () => {
    const c = createFieldLineCache(isToken, isValidFieldValue);
    const a = c.line("server", "envoy");
    expect(a).toBe("server: envoy\r\n");
    // Same content from another string object (a parser slices a new one per message): the kept line.
    expect(Object.is(c.line("server", fresh("envoy")), a)).toBe(true);
  });

  it("replaces a name's line when its value changes, and never returns a stale one", () => {
    const c = createFieldLineCache(isToken, isValidFieldValue);
    expect(c.line("content-length", "10")).toBe("content-length: 10\r\n");
    expect(c.line("content-length", "1")).toBe("content-length: 1\r\n");
    expect(c.line("content-length", "100")).toBe("content-length: 100\r\n");
    // A value that is a prefix or an extension of the kept one is a different value.
    expect(c.line("content-length", "10")).toBe("content-length: 10\r\n");
    expect(c.line("content-length", "")).toBe("content-length: \r\n");
    expect(c.line("x-a", "v")).toBe("x-a: v\r\n");
    expect(c.line("x-b", "v")).toBe("x-b: v\r\n");
  });

  it("refuses names and values its predicates refuse, without forgetting the last good line", () => {
    const c = createFieldLineCache((n) => isToken(n) && n !== "connection", isValidFieldValue);
    expect(c.line("connection", "close")).toBeUndefined();
    expect(c.line("bad name", "x")).toBeUndefined();
    expect(c.line("x-ok", "good")).toBe("x-ok: good\r\n");
    expect(c.line("x-ok", "bad\r\nx-injected: 1")).toBeUndefined();
    expect(c.line("x-ok", "nul\0")).toBeUndefined();
    expect(c.line("x-ok", "good")).toBe("x-ok: good\r\n");
  });

  it("writes long values without keeping them, and still answers right afterwards", () => {
    const c = createFieldLineCache(isToken, isValidFieldValue);
    const long = "v".repeat(5000);
    expect(c.line("x-big", "short")).toBe("x-big: short\r\n");
    expect(c.line("x-big", long)).toBe(`x-big: ${long}\r\n`);
    expect(c.line("x-big", long)).toBe(`x-big: ${long}\r\n`);
    expect(c.line("x-big", "short")).toBe("x-big: short\r\n");
  });

  it("keeps working past the number of names it remembers", () => {
    const c = createFieldLineCache(isToken, isValidFieldValue);
    for (let i = 0; i < 2000; i++) expect(c.line(`x-n${i}`, `v${i}`)).toBe(`x-n${i}: v${i}\r\n`);
    expect(c.line("x-n1999", "other")).toBe("x-n1999: other\r\n");
    expect(c.line("x-n5", "v5")).toBe("x-n5: v5\r\n");
  });
});
