// The pieces of an HTTP/1.1 response's syntax (RFC 9112) the upstream response parser checks one at a
// time: the status line, a chunk-size line, Content-Length digits and the Connection header's verdict.
// Pure functions of a string, no state.

/** Field value byte: HTAB, SP, VCHAR or obs-text — never CR, LF, NUL or another control. */
const valueByteOk = (c: number): boolean => c === 0x09 || (c >= 0x20 && c !== 0x7f && c <= 0xff);

/** 1 to 15 ASCII digits. */
export function isDigits(v: string): boolean {
  if (v.length === 0 || v.length > 15) return false;
  for (let k = 0; k < v.length; k++) {
    const d = v.charCodeAt(k);
    if (d < 0x30 || d > 0x39) return false;
  }
  return true;
}

/** Whether the connection ends with this response: HTTP/1.0 unless keep-alive, HTTP/1.1 on close. */
export function connectionCloses(conn: string | string[] | undefined, http10: boolean): boolean {
  if (conn === undefined) return http10;
  // The usual spellings first: no lower-cased copy per response.
  if (conn === "keep-alive") return false;
  if (conn === "close") return true;
  const v = Array.isArray(conn) ? conn.join(",") : conn;
  const lower = v.length === 10 || v.length === 5 ? v.toLowerCase() : undefined;
  if (lower === "keep-alive") return false;
  if (lower === "close") return true;
  const tokens = v.toLowerCase().split(",").map((t) => t.trim());
  return http10 ? !tokens.includes("keep-alive") : tokens.includes("close");
}

/** `HTTP/1.x SSS[ reason]` in raw[0, eol) → minor version * 1000 + status, or -1. */
export function parseStatusLine(raw: string, eol: number): number {
  if (eol < 12 || !raw.startsWith("HTTP/1.") || raw.charCodeAt(8) !== 0x20) return -1;
  const minor = raw.charCodeAt(7) - 0x30;
  if (minor !== 0 && minor !== 1) return -1;
  let status = 0;
  for (let k = 9; k < 12; k++) {
    const d = raw.charCodeAt(k) - 0x30;
    if (d < 0 || d > 9) return -1;
    status = status * 10 + d;
  }
  if (eol > 12) {
    if (raw.charCodeAt(12) !== 0x20) return -1;
    for (let k = 13; k < eol; k++) if (!valueByteOk(raw.charCodeAt(k))) return -1;
  }
  return minor * 1000 + status;
}

/** `chunk-size [ chunk-ext ] CRLF` → the size, or -1 (1 to 12 hex digits; extensions ignored but checked for controls). */
export function parseChunkLine(line: string): number {
  const end = line.length - 2;
  let i = 0;
  let size = 0;
  for (; i < end && i < 13; i++) {
    const c = line.charCodeAt(i);
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) break;
    size = size * 16 + d;
  }
  if (i === 0 || i > 12) return -1;
  // BWS before an extension (RFC 9112 §7.1.1); anything else must start one.
  let k = i;
  while (k < end && (line.charCodeAt(k) === 0x20 || line.charCodeAt(k) === 0x09)) k++;
  if (k < end && line.charCodeAt(k) !== 0x3b) return -1;
  for (; k < end; k++) if (!valueByteOk(line.charCodeAt(k))) return -1;
  return size;
}
