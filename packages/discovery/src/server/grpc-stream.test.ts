// The direct gRPC framing against real HTTP/2 clients: node:http2 byte by
// byte (split and coalesced frames, bad frames, resets) and @grpc/grpc-js
// (an independent gRPC implementation) for the status and trailers.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { isPlainGrpc, serveGrpcStream, type ResponseSink } from "./grpc-stream.js";

const text = new TextEncoder();
const decodeText = new TextDecoder();

interface Harness {
  addr: string;
  received: string[];
  closes: number;
  sinks: Array<ResponseSink<string>>;
  close(): Promise<void>;
}

/** An echo-ish server: each request message is recorded; "fail:<msg>" fails the stream, "end" ends it, anything else is echoed upper-cased. */
async function startServer(): Promise<Harness> {
  const h: Harness = { addr: "", received: [], closes: 0, sinks: [], close: async () => undefined };
  const server = http2.createServer((req, res) => {
    if (!isPlainGrpc(req)) {
      res.writeHead(415).end();
      return;
    }
    const sink = serveGrpcStream<string, string>(req, res, {
      decode: (bytes) => {
        const s = decodeText.decode(bytes);
        if (s === "garbage") throw new Error("not a message");
        return s;
      },
      encode: (m) => text.encode(m),
      onMessage: (m) => {
        h.received.push(m);
        if (m.startsWith("fail:")) throw new Error(m.slice(5));
        if (m === "end") sink.end();
        else sink.push(m.toUpperCase());
      },
      onEnd: () => sink.end(),
      onClose: () => h.closes++,
    });
    h.sinks.push(sink);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  h.addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  h.close = () => new Promise((resolve) => server.close(() => resolve()));
  return h;
}

function frame(message: string, flags = 0, declared?: number): Buffer {
  const body = Buffer.from(message);
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(declared ?? body.length, 1);
  return Buffer.concat([head, body]);
}

/** Writes `chunks` one by one (each its own DATA frame), then half-closes; resolves with the decoded responses and trailers. */
function call(addr: string, chunks: Buffer[], headers: Record<string, string> = {}): Promise<{ messages: string[]; status?: string; message?: string; contentType?: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${addr}`);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": "/x.Y/Z", "content-type": "application/grpc", te: "trailers", ...headers });
    let buf = Buffer.alloc(0);
    const out: { messages: string[]; status?: string; message?: string; contentType?: string } = { messages: [] };
    stream.on("response", (h) => {
      out.contentType = h["content-type"] as string;
      if (h["grpc-status"] !== undefined) out.status = h["grpc-status"] as string;
    });
    stream.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
        out.messages.push(buf.subarray(5, 5 + buf.readUInt32BE(1)).toString());
        buf = buf.subarray(5 + buf.readUInt32BE(1));
      }
    });
    stream.on("trailers", (t) => {
      out.status = t["grpc-status"] as string;
      out.message = t["grpc-message"] === undefined ? undefined : decodeURIComponent(t["grpc-message"] as string);
    });
    stream.on("close", () => {
      session.close();
      resolve(out);
    });
    (async () => {
      for (const c of chunks) {
        stream.write(c);
        await new Promise((r) => setTimeout(r, 5));
      }
      stream.end();
    })().catch(reject);
  });
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("serveGrpcStream()", () => {
  it("reassembles messages split across DATA frames and splits coalesced ones", async () => {
    h = await startServer();
    const two = Buffer.concat([frame("a"), frame("bb")]);
    const long = frame("x".repeat(40_000)); // larger than one 16 KiB HTTP/2 frame
    const split = frame("split");
    const result = await call(h.addr, [two, long.subarray(0, 3), long.subarray(3, 20_000), long.subarray(20_000), split.subarray(0, 7), split.subarray(7)]);
    expect(h.received.map((m) => (m.length > 10 ? `${m[0]}×${m.length}` : m))).toEqual(["a", "bb", "x×40000", "split"]);
    expect(result.messages.map((m) => m.slice(0, 5))).toEqual(["A", "BB", "XXXXX", "SPLIT"]);
    expect(result).toMatchObject({ status: "0", contentType: "application/grpc+proto" });
    expect(h.closes).toBe(1);
  });

  it("ends with INVALID_ARGUMENT on a message that does not decode or a truncated envelope", async () => {
    h = await startServer();
    expect(await call(h.addr, [frame("ok"), frame("garbage")])).toMatchObject({ messages: ["OK"], status: "3", message: "cannot decode request: not a message" });
    expect(await call(h.addr, [frame("abc", 0, 1000)])).toMatchObject({ status: "3", message: expect.stringMatching(/incomplete envelope \(8 bytes left/) });
  });

  it("refuses compressed and oversized messages", async () => {
    h = await startServer();
    expect(await call(h.addr, [frame("zip", 1)])).toMatchObject({ status: "13", message: expect.stringMatching(/compressed request message/) });
    expect(await call(h.addr, [frame("", 0, 5 * 1024 * 1024)])).toMatchObject({ status: "8", message: expect.stringMatching(/exceeds the 4194304-byte limit/) });
  });

  it("carries a handler's error as the status, percent-encoding the message", async () => {
    h = await startServer();
    const result = await call(h.addr, [frame("fail:100% wrong — café")]);
    expect(result).toMatchObject({ status: "2", message: "100% wrong — café" });
  });

  it("leaves compressed streams and other content types to the caller", async () => {
    h = await startServer();
    const session = http2.connect(`http://${h.addr}`);
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const s = session.request({ ":method": "POST", ":path": "/x.Y/Z", ...headers });
        s.on("response", (r) => resolve(r[":status"] as number));
        s.resume();
        s.end();
      });
    expect(await status({ "content-type": "application/grpc", "grpc-encoding": "gzip" })).toBe(415);
    expect(await status({ "content-type": "application/grpc+json" })).toBe(415);
    expect(await status({ "content-type": "application/grpc-web" })).toBe(415);
    session.close();
  });

  it("notices a client that goes away without half-closing", async () => {
    h = await startServer();
    const session = http2.connect(`http://${h.addr}`);
    const stream = session.request({ ":method": "POST", ":path": "/x.Y/Z", "content-type": "application/grpc" });
    stream.on("data", () => undefined);
    stream.write(frame("hello"));
    await new Promise((r) => setTimeout(r, 50));
    expect(h.received).toEqual(["hello"]);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.closes).toBe(1);
    expect(h.sinks[0].closed).toBe(true);
    h.sinks[0].push("late"); // must not throw
    session.close();
  });

  it("speaks gRPC as grpc-js understands it (messages, OK, and error statuses)", async () => {
    h = await startServer();
    const client = new grpc.Client(h.addr, grpc.credentials.createInsecure());
    const run = (messages: string[]) =>
      new Promise<{ got: string[]; code: number; details: string }>((resolve) => {
        const got: string[] = [];
        const s = client.makeBidiStreamRequest("/x.Y/Z", (m: string) => Buffer.from(m), (b: Buffer) => b.toString(), {});
        s.on("data", (m: string) => got.push(m));
        s.on("status", (st: grpc.StatusObject) => resolve({ got, code: st.code, details: st.details }));
        s.on("error", () => undefined);
        for (const m of messages) s.write(m);
        s.end();
      });
    expect(await run(["one", "two"])).toEqual({ got: ["ONE", "TWO"], code: grpc.status.OK, details: "" });
    expect(await run(["one", "fail:no such thing"])).toEqual({ got: ["ONE"], code: grpc.status.UNKNOWN, details: "no such thing" });
    client.close();
  });
});
