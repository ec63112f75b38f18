// tls_inspector's ClientHello parser (RFC 8446 §4.1.2, RFC 6066 §3 SNI,
// RFC 7301 ALPN). A ClientHello may span several TLS records (large key
// shares, many extensions); the handshake message is reassembled across them
// as Envoy's inspector does, up to its 16 KiB limit. Every length is bounds-checked:
// a malformed hello is "not_tls" (no SNI/ALPN), never a misread.
export type TlsPeek =
  | { kind: "need_more" }
  | { kind: "not_tls" }
  | { kind: "tls"; sni?: string; alpn: string[] };

/** Envoy's tls_inspector reads at most this much of a ClientHello. */
export const MAX_CLIENT_HELLO = 16 * 1024;

const NEED_MORE: TlsPeek = { kind: "need_more" };
const NOT_TLS: TlsPeek = { kind: "not_tls" };

/** The ClientHello body (after its 4-byte handshake header), reassembled from the records in `b`. */
function handshakeBody(b: Buffer): Buffer | TlsPeek {
  const parts: Buffer[] = [];
  let have = 0;
  let want = -1; // body length, once the handshake header is read
  let p = 0;
  for (;;) {
    if (b.length < p + 1) return NEED_MORE;
    if (b[p] !== 0x16) return NOT_TLS; // only handshake records may carry the hello
    if (b.length < p + 5) return NEED_MORE;
    if (b[p + 1] !== 0x03) return NOT_TLS;
    const recLen = b.readUInt16BE(p + 3);
    if (recLen === 0 || recLen > 16384 + 2048) return NOT_TLS;
    const avail = Math.min(recLen, b.length - (p + 5));
    parts.push(b.subarray(p + 5, p + 5 + avail));
    have += avail;
    const hs = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    if (want < 0 && hs.length >= 4) {
      if (hs[0] !== 0x01) return NOT_TLS; // client_hello
      want = (hs[1]! << 16) | (hs[2]! << 8) | hs[3]!;
      if (want > MAX_CLIENT_HELLO) return NOT_TLS;
    }
    if (want >= 0 && have >= 4 + want) return hs.subarray(4, 4 + want);
    if (avail < recLen) return NEED_MORE; // the rest of this record has not arrived
    p += 5 + recLen;
  }
}

export function parseClientHello(b: Buffer): TlsPeek {
  const body = handshakeBody(b);
  if (!Buffer.isBuffer(body)) return body;
  const out: { kind: "tls"; sni?: string; alpn: string[] } = { kind: "tls", alpn: [] };
  const end = body.length;
  let p = 2 + 32; // legacy_version, random
  if (p + 1 > end) return NOT_TLS;
  p += 1 + body[p]!; // legacy_session_id
  if (p + 2 > end) return NOT_TLS;
  p += 2 + body.readUInt16BE(p); // cipher_suites
  if (p + 1 > end) return NOT_TLS;
  p += 1 + body[p]!; // legacy_compression_methods
  if (p > end) return NOT_TLS;
  if (p === end) return out; // no extensions (TLS ≤ 1.2 clients may omit them)
  if (p + 2 > end) return NOT_TLS;
  const extEnd = p + 2 + body.readUInt16BE(p);
  if (extEnd > end) return NOT_TLS;
  p += 2;
  while (p + 4 <= extEnd) {
    const type = body.readUInt16BE(p);
    const len = body.readUInt16BE(p + 2);
    const d = p + 4;
    if (d + len > extEnd) return NOT_TLS;
    if (type === 0 && len >= 2) {
      // server_name: ServerNameList of (type, opaque name); host_name (0) is the only type.
      let q = d + 2;
      const listEnd = Math.min(d + 2 + body.readUInt16BE(d), d + len);
      while (q + 3 <= listEnd) {
        const nameType = body[q]!;
        const nameLen = body.readUInt16BE(q + 1);
        if (q + 3 + nameLen > listEnd) return NOT_TLS;
        if (nameType === 0 && out.sni === undefined) out.sni = body.toString("latin1", q + 3, q + 3 + nameLen).toLowerCase();
        q += 3 + nameLen;
      }
    } else if (type === 16 && len >= 2) {
      // application_layer_protocol_negotiation: ProtocolNameList of 1-byte-length names.
      let q = d + 2;
      const listEnd = d + 2 + body.readUInt16BE(d);
      if (listEnd > d + len) return NOT_TLS;
      while (q < listEnd) {
        const l = body[q]!;
        if (l === 0 || q + 1 + l > listEnd) return NOT_TLS;
        out.alpn.push(body.toString("latin1", q + 1, q + 1 + l));
        q += 1 + l;
      }
    }
    p = d + len;
  }
  return out;
}
