// Listener filters that look at the first bytes: tls_inspector (ClientHello
// SNI and ALPN, in client-hello.ts) and http_inspector (HTTP/1.x request line or the HTTP/2
// preface), both without consuming data.
const H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

export { parseClientHello, type TlsPeek } from "./client-hello.js";

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
