import { describe, expect, it } from "vitest";
import { createSessionCodec, readCookie } from "./session.js";

describe("createSessionCodec()", () => {
  it("round-trips the user", () => {
    const codec = createSessionCodec("k");
    expect(codec.decode(codec.encode("jason"))).toBe("jason");
  });

  it("rejects another key's cookie, tampering and garbage", () => {
    const value = createSessionCodec("a").encode("jason");
    expect(createSessionCodec("b").decode(value)).toBeUndefined();
    const codec = createSessionCodec("a");
    const [payload, sig] = value.split(".");
    expect(codec.decode(`${Buffer.from('{"user":"admin"}').toString("base64url")}.${sig}`)).toBeUndefined();
    expect(codec.decode(`${payload}.`)).toBeUndefined();
    expect(codec.decode("nodot")).toBeUndefined();
    expect(codec.decode(undefined)).toBeUndefined();
  });
});

describe("readCookie()", () => {
  it("finds one cookie among several", () => {
    expect(readCookie("a=1; session=abc.def; b=2", "session")).toBe("abc.def");
    expect(readCookie("a=1", "session")).toBeUndefined();
    expect(readCookie(undefined, "session")).toBeUndefined();
  });
});
