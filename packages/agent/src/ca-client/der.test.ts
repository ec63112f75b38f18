import { describe, expect, it } from "vitest";
import { oid, pem, sequence, tlv } from "./der.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("DER encodings", () => {
  it("writes short and long definite lengths at their boundaries", () => {
    expect(hex(tlv(0x04, Buffer.alloc(127))).slice(0, 4)).toBe("047f");
    expect(hex(tlv(0x04, Buffer.alloc(128))).slice(0, 6)).toBe("048180");
    expect(hex(tlv(0x04, Buffer.alloc(255))).slice(0, 6)).toBe("0481ff");
    expect(hex(tlv(0x04, Buffer.alloc(256))).slice(0, 8)).toBe("04820100");
    expect(hex(tlv(0x04, Buffer.alloc(70000))).slice(0, 10)).toBe("0483011170");
    expect(tlv(0x04, Buffer.alloc(70000)).length).toBe(5 + 70000);
  });

  it("encodes object identifiers, multi-byte arcs included", () => {
    expect(hex(oid("1.2.840.10045.4.3.2"))).toBe("06082a8648ce3d040302"); // ecdsa-with-SHA256
    expect(hex(oid("2.5.29.17"))).toBe("0603551d11"); // subjectAltName
    expect(hex(oid("1.2.840.113549.1.9.14"))).toBe("06092a864886f70d01090e"); // extensionRequest
  });

  it("nests sequences and armours PEM at 64 characters a line", () => {
    expect(hex(sequence(sequence()))).toBe("30023000");
    const armoured = pem("TEST", Buffer.alloc(100, 0xab));
    const lines = armoured.trim().split("\n");
    expect(lines[0]).toBe("-----BEGIN TEST-----");
    expect(lines.at(-1)).toBe("-----END TEST-----");
    expect(lines.slice(1, -1).map((l) => l.length)).toEqual([64, 64, 8]);
    expect(Buffer.from(lines.slice(1, -1).join(""), "base64")).toEqual(Buffer.alloc(100, 0xab));
  });
});
