import { describe, expect, it } from "vitest";
import { LeanHttp1Stream, type LeanConnectionPort } from "./lean-http1-stream.js";

function fakePort(): LeanConnectionPort & { written: string[]; done: number } {
  const port = {
    gone: false,
    lastActive: Date.now(),
    written: [] as string[],
    done: 0,
    write(d: Buffer | string) {
      port.written.push(typeof d === "string" ? d : d.toString("latin1"));
      return true;
    },
    onceDrain() {},
    cork() {},
    uncork() {},
    pauseReading() {},
    resumeReading() {},
    destroy() {
      port.gone = true;
    },
    responseDone() {
      port.done++;
    },
  };
  return port;
}

describe("LeanHttp1Stream", () => {
  it("times a long stream idle timeout by the sweep: fires once idle for that long, not before", () => {
    const port = fakePort();
    const s = new LeanHttp1Stream(port, "GET", 0, true, 64 * 1024);
    let fired = 0;
    s.setIdleTimeout(300_000, { streamIdleTimedOut: () => fired++, downstreamClosed() {} });
    const now = Date.now();
    port.lastActive = now - 299_000;
    s.checkCoarseIdle(now);
    expect(fired).toBe(0);
    port.lastActive = now - 300_000;
    s.checkCoarseIdle(now);
    s.checkCoarseIdle(now + 5000);
    expect(fired).toBe(1);
  });

  it("never fires the idle timeout of a finished response", () => {
    const port = fakePort();
    const s = new LeanHttp1Stream(port, "GET", 0, true, 64 * 1024);
    let fired = 0;
    s.setIdleTimeout(60_000, { streamIdleTimedOut: () => fired++, downstreamClosed() {} });
    s.respond(200, { "content-length": "0" }, true);
    s.checkCoarseIdle(Date.now() + 3_600_000);
    expect(fired).toBe(0);
    expect(port.done).toBe(1);
  });

  it("sends a small response's head and body in one write, chunked when the length is unknown", async () => {
    const port = fakePort();
    const s = new LeanHttp1Stream(port, "GET", 0, true, 64 * 1024);
    s.respond(200, { "content-type": "text/plain", connection: "keep-alive" }, false);
    s.write(Buffer.from("hello"));
    s.end(undefined);
    expect(port.written).toEqual([
      "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n",
      "0\r\n\r\n",
    ]);
  });

  it("drops response headers that would break the message", () => {
    const port = fakePort();
    const s = new LeanHttp1Stream(port, "GET", 0, false, 64 * 1024);
    s.respond(204, { "x-ok": "1", "x-bad": "a\r\nInjected: 1", "bad name": "v", "x-list": ["a", "b\nc"] }, true);
    expect(port.written).toEqual(["HTTP/1.1 204 No Content\r\nx-ok: 1\r\nx-list: a\r\nconnection: close\r\n\r\n"]);
  });

  describe("settleWireBytes()", () => {
    const settle = (s: LeanHttp1Stream) => {
      const info = { wireBytesReceived: -1, wireBytesSent: -1, bytesReceived: 0 };
      s.settleWireBytes(info);
      return info;
    };
    const written = (port: ReturnType<typeof fakePort>) => port.written.reduce((n, w) => n + w.length, 0);

    it.each([
      ["a small chunked body with trailers", 1, ["hello"], { "x-t": "1" }],
      ["a streamed chunked body, its head written alone", 2, ["abc", "defgh"], undefined],
      ["a chunk beyond the copy limit (corked writes)", 1, ["x".repeat(20_000)], undefined],
    ])("counts every byte written for %s", async (_name, ticks, chunks, trailers) => {
      const port = fakePort();
      const s = new LeanHttp1Stream(port, "GET", 0, true, 64 * 1024, 37);
      s.respond(200, { "x-reply": "\u00c3\u00bcber" }, false);
      if (ticks > 1) await Promise.resolve().then(() => undefined);
      for (const c of chunks) s.write(Buffer.from(c));
      s.end(trailers);
      const n = written(port);
      expect(n).toBeGreaterThan(chunks.join("").length);
      expect(settle(s)).toEqual({ wireBytesReceived: 37, wireBytesSent: n, bytesReceived: 0 });
    });

    it("counts a Content-Length body as it is, and a request body as it is fed", () => {
      const port = fakePort();
      const s = new LeanHttp1Stream(port, "POST", 7, true, 64 * 1024, 60);
      expect(s.feedBody(Buffer.from("1234"))).toBeUndefined();
      // The rest of this chunk is the next request's: not this one's.
      expect(s.feedBody(Buffer.from("567GET /"))?.toString()).toBe("GET /");
      s.respond(200, { "content-length": "2" }, false);
      s.write(Buffer.from("ok"));
      s.end(undefined);
      expect(settle(s)).toMatchObject({ wireBytesReceived: 67, wireBytesSent: written(port) });
    });

    it("counts no body for a HEAD response, and nothing once the connection is gone", () => {
      const port = fakePort();
      const s = new LeanHttp1Stream(port, "HEAD", 0, true, 64 * 1024, 20);
      s.respond(200, { "content-length": "5" }, false);
      s.write(Buffer.from("hello"));
      s.end(undefined);
      expect(port.written.join("")).not.toContain("hello");
      expect(settle(s).wireBytesSent).toBe(written(port));

      const gone = fakePort();
      const g = new LeanHttp1Stream(gone, "GET", 0, true, 64 * 1024, 20);
      gone.destroy();
      g.respond(200, { "content-length": "5" }, false);
      g.write(Buffer.from("hello"));
      expect(settle(g).wireBytesSent).toBe(0);
    });
  });
});
