// StringMatcher's ignore_case folds ASCII letters only, as Envoy's (absl) does.
import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { StringMatcherSchema } from "@weft/xds-api/gen/envoy/type/matcher/v3/string_pb.js";
import { asciiLowerCase, compileStringMatcher } from "./string-matcher.js";

const ci = (pattern: "exact" | "prefix" | "suffix" | "contains", value: string) =>
  compileStringMatcher(create(StringMatcherSchema, { ignoreCase: true, matchPattern: { case: pattern, value } }), "test", "m");

describe("asciiLowerCase()", () => {
  it("lowers A-Z and nothing else", () => {
    expect(asciiLowerCase("Hello-World_42")).toBe("hello-world_42");
    expect(asciiLowerCase("ZOË İstanbul ΣΑΣ")).toBe("zoË İstanbul ΣΑΣ");
    expect(asciiLowerCase("İ").length).toBe(1);
  });
});

describe("compileStringMatcher() with ignore_case", () => {
  it("matches across ASCII case", () => {
    expect(ci("exact", "Deny.Local")("deny.LOCAL")).toBe(true);
    expect(ci("prefix", "Bear")("bearer x")).toBe(true);
    expect(ci("suffix", ".COM")("a.example.com")).toBe(true);
    expect(ci("contains", "Token")("x-TOKEN-y")).toBe(true);
  });

  it("does not fold non-ASCII letters, where JavaScript's toLowerCase would", () => {
    expect(ci("exact", "zoë")("ZOË")).toBe(false);
    expect(ci("exact", "zoë")("ZOë")).toBe(true);
    expect(ci("prefix", "é")("École")).toBe(false);
    // "İ".toLowerCase() is two characters: a prefix of length 1 would have matched "i".
    expect(ci("prefix", "i")("İstanbul")).toBe(false);
    expect(ci("suffix", "σ")("ΟΔΟΣ")).toBe(false);
  });
});
