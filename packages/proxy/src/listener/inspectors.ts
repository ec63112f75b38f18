// Listener filters that look at the first bytes: tls_inspector (ClientHello
// SNI and ALPN) and http_inspector (HTTP/1.x request line or the HTTP/2
// preface), both without consuming data.
const H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

export type TlsPeek =
  | { kind: "need_more" }
  | { kind: "not_tls" }
  | { kind: "tls"; sni?: string; alpn: string[] };

/** Parses a TLS ClientHello from the start of a connection (RFC 8446 §4.1.2). */
export function parseClientHello(b: Buffer): TlsPeek {
  if (b.length < 1) return { kind: "need_more" };
  if (b[0] !== 0x16) return { kind: "not_tls" }; // handshake record
  if (b.length < 5) return { kind: "need_more" };
  if (b[1] !== 0x03) return { kind: "not_tls" };
  const recLen = b.readUInt16BE(3);
  if (b.length < 5 + Math.min(recLen, 4)) return { kind: "need_more" };
  if (b[5] !== 0x01) return { kind: "not_tls" }; // client_hello
  const hsLen = (b[6] << 16) | (b[7] << 8) | b[8];
  const end = 9 + hsLen;
  // A ClientHello may span records; we only parse the first record (as Envoy does for typical hellos up to 16 KiB).
  if (b.length < Math.min(end, 5 + recLen)) return { kind: "need_more" };
  const out: { kind: "tls"; sni?: string; alpn: string[] } = { kind: "tls", alpn: [] };
  try {
    let p = 9 + 2 + 32; // version, random
    p += 1 + b[p]; // session id
    p += 2 + b.readUInt16BE(p); // cipher suites
    p += 1 + b[p]; // compression methods
    if (p + 2 > b.length) return out;
    const extEnd = Math.min(p + 2 + b.readUInt16BE(p), b.length);
    p += 2;
    while (p + 4 <= extEnd) {
      const type = b.readUInt16BE(p);
      const len = b.readUInt16BE(p + 2);
      const d = p + 4;
      if (type === 0 && d + 5 <= extEnd) {
        // server_name: list length, type (0 = host_name), name length, name
        const nameLen = b.readUInt16BE(d + 3);
        if (b[d + 2] === 0) out.sni = b.toString("latin1", d + 5, d + 5 + nameLen).toLowerCase();
      } else if (type === 16 && d + 2 <= extEnd) {
        let q = d + 2;
        const listEnd = Math.min(d + 2 + b.readUInt16BE(d), extEnd);
        while (q < listEnd) {
          const l = b[q];
          out.alpn.push(b.toString("latin1", q + 1, q + 1 + l));
          q += 1 + l;
        }
      }
      p = d + len;
    }
  } catch {
    // Truncated extensions: keep what we parsed.
  }
  return out;
}

export type HttpPeek = { kind: "need_more" } | { kind: "not_http" } | { kind: "http"; protocol: "h2c" | "http/1.1" | "http/1.0" };

const METHOD_RE = /^[A-Z]{3,16} \S+ HTTP\/1\.([01])\r?\n/;

/** Envoy's http_inspector: sets application protocol h2c, http/1.1 or http/1.0. */
export function inspectHttp(b: Buffer): HttpPeek {
  const n = Math.min(b.length, H2_PREFACE.length);
  if (b.toString("latin1", 0, n) === H2_PREFACE.slice(0, n)) {
    return n === H2_PREFACE.length ? { kind: "http", protocol: "h2c" } : { kind: "need_more" };
  }
  const s = b.toString("latin1", 0, Math.min(b.length, 8192));
  const nl = s.indexOf("\n");
  if (nl < 0) return /^[A-Z]{0,16}( |$)/.test(s) && b.length < 8192 ? { kind: "need_more" } : { kind: "not_http" };
  const m = METHOD_RE.exec(s.slice(0, nl + 1));
  if (!m) return { kind: "not_http" };
  return { kind: "http", protocol: m[1] === "0" ? "http/1.0" : "http/1.1" };
}
