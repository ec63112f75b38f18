// tls_inspector against real ClientHellos (Node's TLS client and curl), the
// same hello split across records and reads, and malformed ones.
import { execFile } from "node:child_process";
import * as net from "node:net";
import * as tls from "node:tls";
import { describe, expect, it } from "vitest";
import { parseClientHello } from "./client-hello.js";

/** Captures the first bytes a client sends to a loopback server, then drops the connection. */
async function capture(connect: (port: number) => void): Promise<Buffer> {
  return new Promise((resolve) => {
    const srv = net.createServer((s) => {
      let buf = Buffer.alloc(0);
      s.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (parseClientHello(buf).kind !== "need_more") {
          s.destroy();
          srv.close();
          resolve(buf);
        }
      });
    });
    srv.listen(0, "127.0.0.1", () => connect((srv.address() as net.AddressInfo).port));
  });
}

/** Re-frames a single-record hello into records of at most `size` bytes of handshake data. */
function splitRecords(hello: Buffer, size: number): Buffer {
  const hs = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const out: Buffer[] = [];
  for (let i = 0; i < hs.length; i += size) {
    const part = hs.subarray(i, i + size);
    const h = Buffer.from([0x16, 0x03, 0x01, 0, 0]);
    h.writeUInt16BE(part.length, 3);
    out.push(h, part);
  }
  return Buffer.concat(out);
}

describe("parseClientHello (tls_inspector)", () => {
  it("reads SNI and ALPN from Node's ClientHello", async () => {
    const hello = await capture((port) => {
      const c = tls.connect({ host: "127.0.0.1", port, servername: "outbound_.8000_._.httpbin.default.svc.cluster.local", ALPNProtocols: ["istio-http/1.1", "istio", "http/1.1"] });
      c.on("error", () => {});
    });
    expect(parseClientHello(hello)).toEqual({ kind: "tls", sni: "outbound_.8000_._.httpbin.default.svc.cluster.local", alpn: ["istio-http/1.1", "istio", "http/1.1"] });
  });

  it("reads curl's ClientHello (h2 and http/1.1 offered, SNI from the URL)", async () => {
    const hello = await capture((port) => {
      execFile("curl", ["-sk", "--max-time", "2", "--http2", `https://Example.Test:${port}/`, "--resolve", `example.test:${port}:127.0.0.1`], () => {});
    });
    const t = parseClientHello(hello);
    expect(t).toMatchObject({ kind: "tls", sni: "example.test" });
    expect(t.kind === "tls" && t.alpn).toEqual(expect.arrayContaining(["h2", "http/1.1"]));
  });

  it("reassembles a hello split over several records and asks for more until it is whole", async () => {
    const hello = await capture((port) => {
      const c = tls.connect({ host: "127.0.0.1", port, servername: "a.example", ALPNProtocols: ["h2"] });
      c.on("error", () => {});
    });
    const split = splitRecords(hello, 40);
    expect(parseClientHello(split)).toEqual({ kind: "tls", sni: "a.example", alpn: ["h2"] });
    for (const n of [1, 4, 5, 44, 60, split.length - 1]) expect(parseClientHello(split.subarray(0, n))).toEqual({ kind: "need_more" });
  });

  it("says not_tls for plaintext and for malformed lengths, never a misread", () => {
    expect(parseClientHello(Buffer.from("GET / HTTP/1.1\r\n"))).toEqual({ kind: "not_tls" });
    expect(parseClientHello(Buffer.from("PRI * HTTP/2.0\r\n"))).toEqual({ kind: "not_tls" });
    // A handshake record holding a ServerHello (type 2).
    expect(parseClientHello(Buffer.from([0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00]))).toEqual({ kind: "not_tls" });
    // A ClientHello claiming more than 16 KiB.
    expect(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01, 0x00, 0x00]))).toEqual({ kind: "not_tls" });
    // An ALPN list whose entry overruns the extension.
    const body = Buffer.concat([
      Buffer.alloc(34), // version + random
      Buffer.from([0]), // session id
      Buffer.from([0, 2, 0x13, 0x01]), // one cipher suite
      Buffer.from([1, 0]), // compression
      Buffer.from([0, 9]), // extensions length
      Buffer.from([0, 16, 0, 5, 0, 3, 9, 0x68, 0x32]), // ALPN: list len 3, entry len 9 (overrun)
    ]);
    const hs = Buffer.concat([Buffer.from([1, 0, 0, body.length]), body]);
    const rec = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0, hs.length]), hs]);
    expect(parseClientHello(rec)).toEqual({ kind: "not_tls" });
  });
});
