import { describe, expect, it } from "vitest";
import { GrpcFrameDecoder, GrpcFrameError, encodeGrpcFrame } from "./grpc-frame-decoder.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("gRPC frame decoder", () => {
  it("splits several messages out of one chunk and joins one cut anywhere", () => {
    const wire = Buffer.concat([encodeGrpcFrame(bytes("one")), encodeGrpcFrame(bytes("")), encodeGrpcFrame(bytes("three"))]);
    expect(new GrpcFrameDecoder(100).push(wire).map(text)).toEqual(["one", "", "three"]);
    for (let cut = 1; cut < wire.length; cut++) {
      const d = new GrpcFrameDecoder(100);
      const got = [...d.push(wire.subarray(0, cut)), ...d.push(wire.subarray(cut))].map(text);
      expect(got, `cut at ${cut}`).toEqual(["one", "", "three"]);
      expect(d.buffered).toBe(0);
    }
  });

  it("byte by byte, holding what is incomplete", () => {
    const wire = encodeGrpcFrame(bytes("hello"));
    const d = new GrpcFrameDecoder(100);
    const got: string[] = [];
    for (const b of wire) got.push(...d.push(Buffer.from([b])).map(text));
    expect(got).toEqual(["hello"]);
    d.push(wire.subarray(0, 7));
    expect(d.buffered).toBe(7);
  });

  it("refuses compressed frames, unknown flags and messages over the limit", () => {
    const compressed = encodeGrpcFrame(bytes("x"));
    compressed[0] = 1;
    expect(() => new GrpcFrameDecoder(100).push(compressed)).toThrow(/compressed response message/);
    const flagged = encodeGrpcFrame(bytes("x"));
    flagged[0] = 0x80;
    expect(() => new GrpcFrameDecoder(100).push(flagged)).toThrow(GrpcFrameError);
    // The limit is checked from the header alone, before the body arrives.
    expect(() => new GrpcFrameDecoder(10).push(encodeGrpcFrame(new Uint8Array(11)).subarray(0, 5))).toThrow(/11 bytes exceeds the 10-byte limit/);
  });
});
