import { describe, expect, it } from "vitest";
import { GrpcMessageCounter } from "./grpc-message-counter.js";

function frame(payload: number): Buffer {
  const b = Buffer.alloc(5 + payload, 0x61);
  b[0] = 0;
  b.writeUInt32BE(payload, 1);
  return b;
}

describe("GrpcMessageCounter", () => {
  it("counts messages whole, several to a chunk, and split anywhere, empty ones included", () => {
    const stream = Buffer.concat([frame(3), frame(0), frame(300), frame(70_000), frame(1)]);
    for (const size of [1, 2, 4, 5, 6, 7, 64, 1000, stream.length]) {
      const c = new GrpcMessageCounter();
      for (let i = 0; i < stream.length; i += size) c.feed(stream.subarray(i, i + size));
      expect(c.count, `chunks of ${size}`).toBe(5);
    }
  });

  it("counts a message once its prefix is complete, before its payload arrives", () => {
    const c = new GrpcMessageCounter();
    c.feed(frame(10).subarray(0, 4));
    expect(c.count).toBe(0);
    c.feed(frame(10).subarray(4, 6));
    expect(c.count).toBe(1);
  });
});
