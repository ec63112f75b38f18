// Codec-independent request validation: everything the HCM checks about a
// request head before any filter or route sees it, as a pure function over
// (method, request target, raw header list). The codec (node:http today, maybe
// a faster HTTP/1.1 parser tomorrow; node:http2) only hands over what it read,
// so these rules keep holding whatever parses the bytes.
//
// Refusals follow Envoy: 431 for too many / too large headers, 501 for a
// Transfer-Encoding other than chunked, 400 for everything malformed
// (framing ambiguities, bad characters, Host confusion, bad paths).
import type { Headers } from "./request-context.js";
import { INVALID_AUTHORITY, normalizeAuthorityValue, normalizePath } from "./normalize-path.js";
import type { RequestLimits } from "./request-limits.js";
import { stripHopByHop } from "./sanitize-hop-by-hop.js";
import { isToken, isValidFieldValue } from "./field-syntax.js";
import { KNOWN_NAME_LOWER } from "./known-names.js";

export type RequestProtocol = "HTTP/1.0" | "HTTP/1.1" | "HTTP/2";

export interface RawRequestHead {
  protocol: RequestProtocol;
  /** HTTP/1: the request line's method. HTTP/2: ignored (`:method` is in rawHeaders). */
  method?: string;
  /** HTTP/1: the request target as sent. HTTP/2: ignored (`:path`). */
  target?: string;
  /** Names and values alternating, as received (HTTP/2 pseudo-headers included, first). */
  rawHeaders: readonly string[];
  /** The listener port, for strip_matching_host_port. */
  localPort?: number;
}

export interface ValidRequest {
  ok: true;
  method: string;
  /** Normalized `:path` (with the query), or `*` for `OPTIONS *`. */
  path: string;
  /** Normalized authority ("" only for HTTP/1.0 without Host). */
  authority: string;
  /** HTTP/2 `:scheme`; HTTP/1 absolute-form's scheme; otherwise undefined. */
  scheme?: string;
  /** Lower-case names, no pseudo-headers, no Host, no hop-by-hop headers. */
  headers: Headers;
  /** UNESCAPE_AND_REDIRECT: answer 307 with `path`. */
  redirect: boolean;
  /** Headers dropped under headers_with_underscores_action DROP_HEADER. */
  droppedUnderscoreHeaders: number;
}

export interface RejectedRequest {
  ok: false;
  status: 400 | 403 | 431 | 501;
  /** %RESPONSE_CODE_DETAILS% */
  details: string;
}

export type RequestValidation = ValidRequest | RejectedRequest;


// Node's rules for folding repeated headers into one value: these keep the
// first occurrence (a second one is meaningless), cookie joins with "; ",
// set-cookie stays a list, everything else joins with ", " (RFC 9110 §5.3).
const SINGLETON = new Set([
  "age", "authorization", "content-type", "etag", "expires", "from", "if-modified-since", "if-unmodified-since",
  "last-modified", "location", "max-forwards", "proxy-authorization", "referer", "retry-after", "server", "user-agent",
]);

const reject = (status: RejectedRequest["status"], details: string): RejectedRequest => ({ ok: false, status, details });

export function validateRequestHead(head: RawRequestHead, limits: RequestLimits): RequestValidation {
  const h2 = head.protocol === "HTTP/2";
  const codec = h2 ? "http2" : "http1";
  const raw = head.rawHeaders;
  let count = 0;
  let bytes = 0;
  for (let i = 0; i < raw.length; i += 2) {
    bytes += raw[i].length + (raw[i + 1]?.length ?? 0);
    if (raw[i].charCodeAt(0) !== 0x3a) count++;
  }
  if (count > limits.maxHeadersCount) return reject(431, `${codec}.too_many_headers`);
  if (bytes > limits.maxRequestHeadersBytes) return reject(431, `${codec}.headers_too_large`);

  let method = head.method;
  let target = head.target;
  let authority: string | undefined;
  let scheme: string | undefined;
  let hosts = 0;
  let host: string | undefined;
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  let connection: string | undefined;
  let dropped = 0;
  const headers: Headers = {};
  let regularSeen = false;
  // HTTP/2 only: the pseudo-headers already seen (HTTP/1 requests never allocate it).
  let pseudoSeen: Set<string> | undefined;

  for (let i = 0; i < raw.length; i += 2) {
    const rawName = raw[i];
    const value = raw[i + 1] ?? "";
    if (!isValidFieldValue(value)) return reject(400, `${codec}.invalid_characters`);
    if (h2 && rawName.charCodeAt(0) === 0x3a) {
      // RFC 9113 §8.3: known pseudo-headers, once each, before any regular header.
      pseudoSeen ??= new Set<string>();
      if (regularSeen || pseudoSeen.has(rawName)) return reject(400, "http2.violation.of.messaging.rule");
      pseudoSeen.add(rawName);
      if (rawName === ":method") method = value;
      else if (rawName === ":path") target = value;
      else if (rawName === ":authority") authority = value;
      else if (rawName === ":scheme") scheme = value;
      else return reject(400, "http2.invalid.header.field");
      continue;
    }
    regularSeen = true;
    // A known name (known-names.ts) is a token already.
    let name = KNOWN_NAME_LOWER.get(rawName);
    if (name === undefined) {
      if (!isToken(rawName)) return reject(400, `${codec}.invalid_characters`);
      name = rawName.toLowerCase();
    }
    // HTTP/2 field names are lower-case on the wire (RFC 9113 §8.2.1); leading/trailing whitespace is malformed.
    if (h2 && (name !== rawName || /^[ \t]|[ \t]$/.test(value))) return reject(400, "http2.invalid.header.field");
    if (name.includes("_")) {
      if (limits.headersWithUnderscores === "reject") return reject(400, `${codec}.unexpected_underscore`);
      if (limits.headersWithUnderscores === "drop") {
        dropped++;
        continue;
      }
    }
    switch (name) {
      case "host":
        hosts++;
        host = value;
        continue;
      case "content-length":
        if (contentLength !== undefined) return reject(400, `${codec}.multiple_content_length`);
        contentLength = value;
        break;
      case "transfer-encoding":
        if (transferEncoding !== undefined) return reject(501, `${codec}.invalid_transfer_encoding`);
        transferEncoding = value;
        break;
      case "connection":
        connection = connection === undefined ? value : `${connection},${value}`;
        break;
    }
    const cur = headers[name];
    if (cur === undefined) headers[name] = name === "set-cookie" ? [value] : value;
    else if (name === "set-cookie") (cur as string[]).push(value);
    else if (SINGLETON.has(name)) continue;
    else headers[name] = `${cur as string}${name === "cookie" ? "; " : ", "}${value}`;
  }

  if (method === undefined || !isToken(method)) return reject(400, `${codec}.invalid_method`);
  // Istio's normalization: a method not in upper case is refused.
  if (method !== method.toUpperCase()) return reject(400, `${codec}.invalid_method`);

  // Framing (request smuggling): one Content-Length of digits; Transfer-Encoding only
  // `chunked`, only in HTTP/1.1, never with Content-Length.
  if (contentLength !== undefined && !/^[0-9]{1,15}$/.test(contentLength)) return reject(400, `${codec}.invalid_content_length`);
  if (transferEncoding !== undefined) {
    if (h2) return reject(400, "http2.invalid.header.field");
    if (head.protocol === "HTTP/1.0") return reject(400, "http1.invalid_transfer_encoding");
    if (transferEncoding.trim().toLowerCase() !== "chunked") return reject(501, "http1.invalid_transfer_encoding");
    if (contentLength !== undefined) return reject(400, "http1.content_length_and_chunked_not_allowed");
  }
  if (h2) {
    // RFC 9113 §8.2.2: connection-specific fields make the message malformed; TE may only say "trailers".
    if (connection !== undefined || headers["keep-alive"] !== undefined || headers["proxy-connection"] !== undefined || headers["upgrade"] !== undefined) {
      return reject(400, "http2.invalid.header.field");
    }
    const te = headers["te"];
    if (te !== undefined && String(te).trim().toLowerCase() !== "trailers") return reject(400, "http2.invalid.header.field");
  }

  // Authority: exactly one source of truth.
  if (hosts > 1) return reject(400, `${codec}.multiple_host`);
  // CONNECT is not proxied (no CONNECT upgrade_config support): Envoy's answer without one.
  if (method === "CONNECT") return reject(403, "upgrade_failed");
  if (target === undefined) return reject(400, `${codec}.invalid_path`);
  if (!h2 && !target.startsWith("/") && target !== "*") {
    // Absolute-form (RFC 9112 §3.2.2): the target's authority is the request's.
    const m = /^(https?):\/\/([^/?#]*)(.*)$/i.exec(target);
    if (!m) return reject(400, "http1.invalid_url");
    scheme = m[1].toLowerCase();
    authority = m[2];
    target = m[3] === "" || m[3][0] !== "/" ? `/${m[3]}` : m[3];
  }
  if (authority === undefined) authority = host;
  else if (host !== undefined && host.toLowerCase() !== authority.toLowerCase()) return reject(400, `${codec}.host_authority_mismatch`);
  if (h2 && (scheme === undefined || !/^https?$/.test(scheme))) return reject(400, "http2.invalid.header.field");

  let normalizedAuthority = "";
  if (authority === undefined || authority === "") {
    if (head.protocol !== "HTTP/1.0") return reject(400, "missing_host_header");
  } else {
    const a = normalizeAuthorityValue(authority, false, limits.stripMatchingHostPort ? head.localPort : undefined);
    if (a === INVALID_AUTHORITY) return reject(400, "invalid_authority");
    normalizedAuthority = a;
  }

  let path: string;
  let redirect = false;
  if (target === "*") {
    if (method !== "OPTIONS") return reject(400, `${codec}.invalid_path`);
    path = "*";
  } else {
    const p = normalizePath(target, limits.path);
    if (!p.ok) return reject(400, p.details === "escaped_slashes_rejected" ? p.details : "path_normalization_failed");
    path = p.path;
    redirect = p.redirect;
  }

  stripHopByHop(headers, connection);
  return { ok: true, method, path, authority: normalizedAuthority, scheme, headers, redirect, droppedUnderscoreHeaders: dropped };
}
