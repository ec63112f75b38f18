// HttpConnectionManager.server_name goes out as its UTF-8 bytes (what Envoy sends) in the `server`
// response header, over HTTP/1.1 (the lean response writer) and HTTP/2 (node:http2), instead of being
// dropped for holding a character the one-byte-per-character writers cannot carry.
import * as http2 from "node:http2";
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, startRuntime, type Harness } from "../test-util/runtime-harness.js";

const NAME = "w\u00e9ft \u2713 \u010A";
const direct = [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, direct_response: { status: 200, body: { inline_string: "ok" } } }] }];

/** The raw bytes of an HTTP/1.1 response to one GET. */
function rawGet(port: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, "127.0.0.1", () => s.write("GET / HTTP/1.1\r\nhost: a.test\r\nconnection: close\r\n\r\n"));
    s.on("data", (d: Buffer) => chunks.push(d));
    s.once("end", () => resolve(Buffer.concat(chunks)));
    s.once("error", reject);
  });
}

describe("server_name", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startRuntime({ listeners: [httpListener("named", direct, { server_name: NAME })] });
  });
  afterAll(() => h.close());

  it("is sent as its UTF-8 bytes over HTTP/1.1, and a U+010A in it does not become a line break", async () => {
    const res = await rawGet(h.port("named"));
    const head = res.subarray(0, res.indexOf("\r\n\r\n"));
    expect(head.toString("latin1").split("\r\n")[0]).toBe("HTTP/1.1 200 OK");
    const line = head.toString("latin1").split("\r\n").find((l) => l.startsWith("server: "));
    expect(line).toBeDefined();
    expect(Buffer.from(line!.slice("server: ".length), "latin1").equals(Buffer.from(NAME, "utf8"))).toBe(true);
    expect(head.toString("latin1").split("\r\n").some((l) => l.startsWith("\n") || l === "")).toBe(false);
  });

  it("is sent as its UTF-8 bytes over HTTP/2", async () => {
    const client = http2.connect(`http://127.0.0.1:${h.port("named")}`);
    try {
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const req = client.request({ ":path": "/", ":authority": "a.test" });
        req.once("response", resolve);
        req.once("error", reject);
        req.resume();
        req.end();
      });
      expect(headers[":status"]).toBe(200);
      // node:http2 hands header values over one character per byte.
      expect(Buffer.from(String(headers["server"]), "latin1").equals(Buffer.from(NAME, "utf8"))).toBe(true);
    } finally {
      client.close();
    }
  });
});
