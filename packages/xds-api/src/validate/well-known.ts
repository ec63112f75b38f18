// The `well_known` string formats of protoc-gen-validate, following its Go
// implementation (hostname labels, email length limits) and RFC 3986 for URIs.
import { isIPv4, isIPv6 } from "node:net";

export function isIp(value: string): boolean {
  return isIpv4(value) || isIpv6(value);
}

export function isIpv4(value: string): boolean {
  return isIPv4(value);
}

/** Zone suffixes (`fe80::1%eth0`) are not addresses in PGV (Go's net.ParseIP refuses them). */
export function isIpv6(value: string): boolean {
  return !value.includes("%") && isIPv6(value);
}

/** RFC 1034 host name: labels of 1–63 letters, digits or hyphens, not starting or ending with a hyphen; 253 chars at most. */
export function isHostname(value: string): boolean {
  const host = value.endsWith(".") ? value.slice(0, -1) : value;
  if (host.length === 0 || host.length > 253) return false;
  for (const label of host.split(".")) {
    if (label.length === 0 || label.length > 63) return false;
    if (!/^[a-zA-Z0-9-]+$/.test(label)) return false;
    if (label.startsWith("-") || label.endsWith("-")) return false;
  }
  return true;
}

export function isAddress(value: string): boolean {
  return isIp(value) || isHostname(value);
}

const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LOCAL_PART = new RegExp(`^(?:${ATOM}(?:\\.${ATOM})*|"(?:[^"\\\\\\r\\n]|\\\\.)*")$`);

/** RFC 5322 address (optionally `Name <addr>`), local part ≤ 64, whole ≤ 254, domain a host name. */
export function isEmail(value: string): boolean {
  let address = value.trim();
  const angle = /^[^<]*<([^>]*)>$/.exec(address);
  if (angle) address = angle[1];
  if (address.length > 254) return false;
  const at = address.lastIndexOf("@");
  if (at <= 0) return false;
  const local = address.slice(0, at);
  if (local.length > 64 || !LOCAL_PART.test(local)) return false;
  return isHostname(address.slice(at + 1));
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

// RFC 3986: every character is unreserved, reserved or part of a %XX escape.
const URI_CHARS = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** An absolute URI: a scheme, then a well-formed rest. */
export function isUri(value: string): boolean {
  return SCHEME.test(value) && isUriRef(value);
}

/** A URI reference, absolute or relative (RFC 3986 §4.1). */
export function isUriRef(value: string): boolean {
  if (!URI_CHARS.test(value)) return false;
  // A relative reference's first segment may not contain ':' (it would read as a scheme).
  if (!SCHEME.test(value)) {
    const firstSegment = value.split(/[/?#]/, 1)[0];
    if (firstSegment.includes(":")) return false;
  }
  const hash = value.indexOf("#");
  return hash < 0 || !value.slice(hash + 1).includes("#");
}

// validate.KnownRegex, as PGV defines them (RFC 7230 tokens and field values).
// PGV's name pattern writes `+-.`, a character range that also admits ',';
// kept so Weft accepts exactly the header names Envoy accepts.
export const HEADER_NAME_STRICT = /^:?[0-9a-zA-Z!#$%&'*+,\-.^_|~`]+$/;
export const HEADER_VALUE_STRICT = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
// With `strict: false` only NUL, CR and LF are refused, for names and values alike.
export const HEADER_LOOSE = /^[^\u0000\u000A\u000D]*$/;
