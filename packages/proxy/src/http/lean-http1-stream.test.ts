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
});
