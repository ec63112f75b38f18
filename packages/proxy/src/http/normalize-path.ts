// The one path and authority normalization of the connection manager. It runs
// before any filter or route sees the request, and the normalized form is what
// routing, RBAC and the upstream all see: the same bytes are checked and sent,
// so a policy on `/admin` cannot be walked around with `//admin`, `/./admin`,
// `/x/../admin`, `/%61dmin` or `/admin#x`.
//
// Envoy semantics (HttpConnectionManager): path_with_escaped_slashes_action is
// applied first, then normalize_path (RFC 3986 §6: decode %-escapes of
// unreserved characters, `\` → `/`, remove dot segments), then merge_slashes.
// Weft's defaults are stricter than Envoy's: normalize_path and merge_slashes
// are on unless normalize_path is explicitly false (merge_slashes is a plain
// bool, so "unset" and "false" look the same and Weft merges). %2F/%5C stay
// encoded unless the action says otherwise (Istio's KEEP_UNCHANGED).

/** HttpConnectionManager.PathWithEscapedSlashesAction. */
export type EscapedSlashesAction = "keep" | "reject" | "unescape_and_redirect" | "unescape_and_forward";

export interface PathNormalization {
  /** normalize_path (Weft default true). */
  normalize: boolean;
  /** merge_slashes (Weft default true). */
  mergeSlashes: boolean;
  escapedSlashes: EscapedSlashesAction;
}

export const DEFAULT_PATH_NORMALIZATION: PathNormalization = { normalize: true, mergeSlashes: true, escapedSlashes: "keep" };

export type PathResult =
  | { ok: true; path: string; /** UNESCAPE_AND_REDIRECT found escaped slashes: answer 307 to `path`. */ redirect: boolean }
  | { ok: false; details: string };

const HEX = "0123456789ABCDEF";

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** RFC 3986 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

/**
 * Normalizes an origin-form request target (`/path?query#fragment`). The query
 * is kept byte for byte; the fragment is dropped (it never belongs on the wire).
 * Fails for a target not starting with `/`, a malformed %-escape, `%00`, or a
 * control character — the caller answers 400 with `details`.
 */
export function normalizePath(target: string, opts: PathNormalization = DEFAULT_PATH_NORMALIZATION): PathResult {
  if (target.length === 0 || target.charCodeAt(0) !== 0x2f) return { ok: false, details: "invalid_path" };
  let end = target.length;
  const hash = target.indexOf("#");
  if (hash >= 0) end = hash;
  const q = target.indexOf("?");
  const pathEnd = q >= 0 && q < end ? q : end;
  for (let i = pathEnd; i < end; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c > 0xff) return { ok: false, details: "invalid_query" };
  }

  // The usual path needs none of the steps below: it is forwarded as it came.
  if (isPlainPath(target, pathEnd)) return { ok: true, path: end === target.length ? target : target.slice(0, end), redirect: false };

  // One pass: validate and canonicalize escapes, decode unreserved ones, and
  // (per the action) escaped slashes.
  const query = pathEnd < end ? target.slice(pathEnd, end) : "";
  let out = "";
  let sawEscapedSlash = false;
  for (let i = 0; i < pathEnd; i++) {
    const c = target.charCodeAt(i);
    if (c === 0x25) {
      const h = i + 2 < pathEnd ? hexVal(target.charCodeAt(i + 1)) : -1;
      const l = h >= 0 ? hexVal(target.charCodeAt(i + 2)) : -1;
      if (l < 0) return { ok: false, details: "invalid_path_escape" };
      const b = (h << 4) | l;
      i += 2;
      // Istio: %00 is always refused.
      if (b === 0) return { ok: false, details: "invalid_path_escape" };
      if (b === 0x2f || b === 0x5c) {
        sawEscapedSlash = true;
        if (opts.escapedSlashes === "reject") return { ok: false, details: "escaped_slashes_rejected" };
        if (opts.escapedSlashes !== "keep") {
          out += String.fromCharCode(b);
          continue;
        }
      } else if (opts.normalize && isUnreserved(b)) {
        out += String.fromCharCode(b);
        continue;
      }
      // Kept escaped: canonical upper-case hex (RFC 3986 §6.2.2.1), so `%2f` and `%2F` are one path.
      out += opts.normalize ? "%" + HEX[h] + HEX[l] : target.slice(i - 2, i + 1);
      continue;
    }
    if (c <= 0x20 || c === 0x7f || c > 0xff) return { ok: false, details: "invalid_path" };
    if (c >= 0x80) {
      // Raw 8-bit bytes (latin1 as the codec hands them over) travel escaped.
      out += opts.normalize ? "%" + HEX[c >> 4] + HEX[c & 15] : target[i];
      continue;
    }
    out += target[i];
  }

  // Escaped slashes now decoded count as separators for the steps below (Envoy unescapes first).
  if (opts.normalize) out = out.replace(/\\/g, "/");
  // Slashes are merged before dot segments are resolved (Envoy does it after), so `//x//..//p`
  // is `/p` as most origin servers read it, not `/x/p`; either way the upstream gets what was checked.
  if (opts.mergeSlashes) out = out.replace(/\/{2,}/g, "/");
  if (opts.normalize) out = removeDotSegments(out);
  const redirect = sawEscapedSlash && opts.escapedSlashes === "unescape_and_redirect";
  return { ok: true, path: out + query, redirect };
}

/**
 * Whether normalization leaves `target[0, pathEnd)` unchanged whatever the options: no %-escape,
 * backslash, control, space or 8-bit byte, no empty segment (`//`) and no segment starting with
 * a dot (so no `.` or `..` segment). Anything else takes the full pass.
 */
function isPlainPath(target: string, pathEnd: number): boolean {
  let prev = 0;
  for (let i = 0; i < pathEnd; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x25 || c === 0x5c) return false;
    if (prev === 0x2f && (c === 0x2f || c === 0x2e)) return false;
    prev = c;
  }
  return true;
}

/** RFC 3986 §5.2.4 on an absolute path: `.` segments vanish, `..` pops one (never above the root). */
export function removeDotSegments(path: string): string {
  if (path.indexOf(".") < 0) return path;
  const segs = path.split("/");
  const out: string[] = [];
  // segs[0] is "" (the path starts with "/").
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i];
    const last = i === segs.length - 1;
    if (s === ".") {
      if (last) out.push("");
    } else if (s === "..") {
      if (out.length > 0) out.pop();
      if (last) out.push("");
    } else out.push(s);
  }
  return "/" + out.join("/");
}

export interface AuthorityNormalization {
  /** strip_any_host_port */
  stripAnyPort: boolean;
  /** strip_matching_host_port: the port to strip when the authority carries it (the listener's port). */
  stripMatchingPort?: number;
}

export type AuthorityResult = { ok: true; authority: string } | { ok: false; details: string };

// reg-name bytes (RFC 3986 §3.2.2: unreserved / pct-encoded / sub-delims): 1, and 2 for an
// upper-case letter (still allowed; it is lower-cased).
const REG_NAME = new Uint8Array(256);
for (const c of "abcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=%") REG_NAME[c.charCodeAt(0)] = 1;
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZ") REG_NAME[c.charCodeAt(0)] = 2;

/** normalizeAuthorityValue's answer for an authority outside the grammar. */
export const INVALID_AUTHORITY = null;

/**
 * The normalized authority (see normalizeAuthority, which wraps this with Envoy's details), or
 * INVALID_AUTHORITY; `""` is refused by the caller as missing_host_header. A reg-name authority that needs no
 * change — already lower-case, no trailing dot, no port to strip — is returned as it came:
 * the per-request case is one scan and no new string.
 */
export function normalizeAuthorityValue(authority: string, stripAnyPort: boolean, stripMatchingPort: number | undefined): string | typeof INVALID_AUTHORITY {
  const n = authority.length;
  if (n === 0) return INVALID_AUTHORITY;
  if (authority.charCodeAt(0) === 0x5b) return normalizeIpLiteral(authority, stripAnyPort, stripMatchingPort);
  let i = 0;
  let upper = 0;
  for (; i < n; i++) {
    const c = authority.charCodeAt(i);
    if (c > 0xff) return INVALID_AUTHORITY;
    const t = REG_NAME[c];
    if (t === 0) break;
    upper |= t;
  }
  const hostEnd = i;
  if (hostEnd === 0) return INVALID_AUTHORITY;
  if (hostEnd < n) {
    // Only a port may follow the host: ":" and at most five digits.
    if (authority.charCodeAt(hostEnd) !== 0x3a || n - hostEnd - 1 > 5) return INVALID_AUTHORITY;
    for (let k = hostEnd + 1; k < n; k++) {
      const c = authority.charCodeAt(k);
      if (c < 0x30 || c > 0x39) return INVALID_AUTHORITY;
    }
  }
  const trailingDot = hostEnd > 1 && authority.charCodeAt(hostEnd - 1) === 0x2e;
  const hasPort = hostEnd < n;
  const dropPort = hasPort && (hostEnd === n - 1 || stripAnyPort || (stripMatchingPort !== undefined && Number(authority.slice(hostEnd + 1)) === stripMatchingPort));
  if ((upper & 2) === 0 && !trailingDot && !dropPort) return authority;
  let host = authority.slice(0, trailingDot ? hostEnd - 1 : hostEnd);
  if (upper & 2) host = host.toLowerCase();
  return hasPort && !dropPort ? host + authority.slice(hostEnd) : host;
}

/**
 * Lower-cases the host, strips one trailing dot (`Example.COM.:80` → `example.com:80`),
 * and the port per strip_any_host_port / strip_matching_host_port. Refuses
 * characters outside RFC 3986's reg-name / IP-literal / port grammar, userinfo
 * (`@`) included: Envoy's authority validation, a little stricter.
 */
export function normalizeAuthority(authority: string, opts: AuthorityNormalization = { stripAnyPort: false }): AuthorityResult {
  if (authority.length === 0) return { ok: false, details: "missing_host_header" };
  const a = normalizeAuthorityValue(authority, opts.stripAnyPort, opts.stripMatchingPort);
  return a === INVALID_AUTHORITY ? { ok: false, details: "invalid_authority" } : { ok: true, authority: a };
}

/** `[IPv6]` / `[vX.…]` with an optional port: the literal lower-cased, the port per the options. */
function normalizeIpLiteral(authority: string, stripAnyPort: boolean, stripMatchingPort: number | undefined): string | typeof INVALID_AUTHORITY {
  const close = authority.indexOf("]");
  if (close < 0) return INVALID_AUTHORITY;
  const host = authority.slice(0, close + 1);
  const rest = authority.slice(close + 1);
  let port: string | undefined;
  if (rest !== "") {
    if (rest[0] !== ":") return INVALID_AUTHORITY;
    port = rest.slice(1);
    if (!/^[0-9]{0,5}$/.test(port)) return INVALID_AUTHORITY;
  }
  if (!/^\[[0-9A-Fa-f:.]+\]$/.test(host) && !/^\[v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+\]$/.test(host)) return INVALID_AUTHORITY;
  const dropPort = port !== undefined && (port === "" || stripAnyPort || (stripMatchingPort !== undefined && Number(port) === stripMatchingPort));
  return port === undefined || dropPort ? host.toLowerCase() : `${host.toLowerCase()}:${port}`;
}
