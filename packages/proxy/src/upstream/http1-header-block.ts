// Header field lines of an HTTP/1.1 response head or trailer section
// (RFC 9112 §5), parsed by index from one latin1 string: no split, no regex
// per line. Names are tokens (RFC 9110 §5.6.2), lower-cased only when they
// hold an upper-case letter; values are stripped of SP/HTAB only (trim()
// would also eat obs-text 0xA0) and may hold HTAB, SP, VCHAR and obs-text.
export type ResponseHeaders = Record<string, string | string[]>;

/** Anything an upstream sent that the response parser refuses; the exchange is reset. */
export class ResponseParseError extends Error {
  override readonly name = "ResponseParseError";
}

// By char code: 0 not a tchar, 1 a tchar, 2 an upper-case letter (a tchar that lower-cases).
const NAME = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") NAME[c.charCodeAt(0)] = 1;
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZ") NAME[c.charCodeAt(0)] = 2;

// Field names as received → their lower-case form, the same string object every time: the headers
// object is then keyed by one (internalized) string per name instead of a fresh one per response.
// Bounded: an upstream inventing names can't grow it past this.
interface Name {
  /** As received. */
  readonly raw: string;
  /** Lower-case. */
  readonly key: string;
}
const NAMES = new Map<string, Name>();
const MAX_NAMES = 1024;
/** Longer names are not remembered (1024 names of an 80 KiB head each would be 80 MiB). */
const MAX_KEPT_NAME = 64;

// In front of NAMES: the last name per (length, first and last byte) slot, compared in place
// (startsWith at the line's offset), so a name seen before makes no string at all.
const SLOTS = 256;
const slots: Name[] = new Array<Name>(SLOTS).fill({ raw: "", key: "" });

/**
 * A copy of `s` that shares nothing with the string it was sliced from: V8 makes a slice of 13 or
 * more characters a view into its parent, and a kept name must not keep a whole head alive.
 */
function detached(s: string): string {
  return Buffer.from(s, "latin1").toString("latin1");
}

/** The name at `block[start, end)`; `upper`: it holds an upper-case letter. */
function fieldName(block: string, start: number, end: number, upper: boolean): string {
  const len = end - start;
  const slot = (len * 31 + block.charCodeAt(start) * 7 + block.charCodeAt(end - 1)) & (SLOTS - 1);
  const seen = slots[slot];
  if (seen.raw.length === len && block.startsWith(seen.raw, start)) return seen.key;
  const raw = block.slice(start, end);
  let name = NAMES.get(raw);
  if (name === undefined) {
    if (NAMES.size >= MAX_NAMES || len > MAX_KEPT_NAME) return upper ? raw.toLowerCase() : raw;
    const own = detached(raw);
    name = { raw: own, key: upper ? own.toLowerCase() : own };
    NAMES.set(own, name);
  }
  slots[slot] = name;
  return name.key;
}

// By char code: 1 for a byte a field value may not hold (CTLs but HTAB, DEL, and anything above 0xFF).
const BAD_VALUE = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) if (c !== 0x09) BAD_VALUE[c] = 1;
BAD_VALUE[0x7f] = 1;

/**
 * Adds the field lines of `block` from index `from` (`name: value` separated by CRLF) to `into`;
 * repeated names collect into arrays. A bare CR or LF, or a NUL, ends up inside a name or value
 * and fails their checks; a line starting with SP/HTAB is obs-fold and refused.
 */
export function parseHeaderBlock(block: string, into: ResponseHeaders, from = 0): void {
  const n = block.length;
  let i = from;
  while (i < n) {
    let eol = block.indexOf("\r\n", i);
    if (eol < 0) eol = n;
    if (eol === i) {
      i += 2;
      continue;
    }
    const first = block.charCodeAt(i);
    if (first === 0x20 || first === 0x09) throw new ResponseParseError("obs-fold in a response header");
    let colon = i;
    let upper = 0;
    for (; colon < eol; colon++) {
      const t = NAME[block.charCodeAt(colon)];
      if (t !== 1 && t !== 2) break;
      upper |= t;
    }
    if (colon === i || colon === eol || block.charCodeAt(colon) !== 0x3a) {
      throw new ResponseParseError(colon < eol && block.charCodeAt(colon) !== 0x3a ? `invalid response header name '${block.slice(i, eol).split(":")[0]}'` : "malformed response header line");
    }
    let vs = colon + 1;
    let ve = eol;
    while (vs < ve && (block.charCodeAt(vs) === 0x20 || block.charCodeAt(vs) === 0x09)) vs++;
    while (ve > vs && (block.charCodeAt(ve - 1) === 0x20 || block.charCodeAt(ve - 1) === 0x09)) ve--;
    for (let k = vs; k < ve; k++) {
      const c = block.charCodeAt(k);
      if (c > 0xff || BAD_VALUE[c] === 1) throw new ResponseParseError(`invalid character in response header '${block.slice(i, colon)}'`);
    }
    const key = fieldName(block, i, colon, (upper & 2) !== 0);
    const value = block.slice(vs, ve);
    const prev = into[key];
    if (prev === undefined) into[key] = value;
    else if (typeof prev === "string") into[key] = [prev, value];
    else prev.push(value);
    i = eol + 2;
  }
}
