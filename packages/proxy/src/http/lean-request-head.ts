// The lean HTTP/1.1 codec's request-head parser. It accepts only a strict,
// unambiguous subset of HTTP/1.1 — the requests real clients send — and says
// "hand off" for everything else, so node:http (with its llhttp parser and
// the hardening checks wired to it) decides about anything unusual exactly as
// before: HTTP/1.0, obs-fold, bare CR or LF, odd characters, Transfer-Encoding,
// Upgrade, Expect, CONNECT, repeated or malformed Content-Length, oversized or
// too many headers. A head is never half-accepted: the bytes of a handed-off
// request are given to node:http untouched.
//
// What this parser accepts still goes through validate-request.ts (Host
// rules, header limits, path normalization), like every other codec's output.

/** The parsed head of one request, with the offset just past its blank line. */
import { TCHAR } from "./field-syntax.js";
import { KNOWN_METHODS, KNOWN_NAMES_BY_LENGTH, lowerName, matchKnown } from "./known-names.js";

export interface LeanRequestHead {
  method: string;
  target: string;
  /** Names and values alternating, as received (names keep their case). */
  rawHeaders: string[];
  /** 0 when the request carries no body. */
  contentLength: number;
  /** False when the client sent `Connection: close`. */
  keepAlive: boolean;
  /** Offset in the buffer of the first byte after the head. */
  end: number;
}

export type LeanParseResult = LeanRequestHead | "incomplete" | "handoff";

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;

// request-target: visible ASCII only (no obs-text, no controls, no space).
const TARGET = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) TARGET[c] = 1;
// field-value bytes accepted here: VCHAR, SP, HTAB (obs-text and controls go to node:http).
const VALUE = new Uint8Array(256);
for (let c = 0x20; c < 0x7f; c++) VALUE[c] = 1;
VALUE[HTAB] = 1;

const HTTP11 = Buffer.from(" HTTP/1.1\r\n", "latin1");
/** At most 15 digits: beyond Number's exact integers is not a length we take. */
const MAX_CL_DIGITS = 15;

// Names and values are collected here and copied out at the end: an array grown by push() starts
// with room for 17 entries, most heads have a handful. Holds the last head's strings until the
// next one overwrites them (at most maxHeaders pairs).
const scratch: string[] = [];

/**
 * Parses the request head starting at `start`. `maxHeadBytes` and `maxHeaders`
 * are the codec's own caps (larger than validation's): a head beyond them is
 * handed off for node:http to refuse with the status it always used.
 */
export function parseLeanRequestHead(buf: Buffer, start: number, maxHeadBytes: number, maxHeaders: number): LeanParseResult {
  const len = buf.length;
  // Request line: method SP target SP "HTTP/1.1" CRLF.
  let i = start;
  while (i < len && TCHAR[buf[i]] === 1) i++;
  if (i === len) return tooLong(len - start, maxHeadBytes);
  if (buf[i] !== SP || i === start) return "handoff";
  const method = matchKnown(buf, start, i, KNOWN_METHODS) ?? buf.toString("latin1", start, i);
  if (method === "CONNECT") return "handoff";
  const targetStart = ++i;
  while (i < len && TARGET[buf[i]] === 1) i++;
  if (i === len) return tooLong(len - start, maxHeadBytes);
  if (buf[i] !== SP || i === targetStart) return "handoff";
  const target = buf.toString("latin1", targetStart, i);
  if (len - i < HTTP11.length) return HTTP11.compare(buf, i, len, 0, len - i) === 0 ? tooLong(len - start, maxHeadBytes) : "handoff";
  if (HTTP11.compare(buf, i, i + HTTP11.length) !== 0) return "handoff";
  i += HTTP11.length;

  let count = 0;
  let contentLength = -1;
  let keepAlive = true;
  for (;;) {
    if (i - start > maxHeadBytes) return "handoff";
    if (i + 1 >= len) return tooLong(len - start, maxHeadBytes);
    if (buf[i] === CR) {
      if (buf[i + 1] !== LF) return "handoff";
      break;
    }
    // field-name ":" OWS field-value OWS CRLF; no whitespace before the colon, no obs-fold.
    const nameStart = i;
    while (i < len && TCHAR[buf[i]] === 1) i++;
    if (i === len) return tooLong(len - start, maxHeadBytes);
    if (buf[i] !== COLON || i === nameStart) return "handoff";
    const nameEnd = i++;
    while (i < len && (buf[i] === SP || buf[i] === HTAB)) i++;
    const valueStart = i;
    while (i < len && VALUE[buf[i]] === 1) i++;
    if (i + 1 >= len) return tooLong(len - start, maxHeadBytes);
    if (buf[i] !== CR || buf[i + 1] !== LF) return "handoff";
    let valueEnd = i;
    while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) valueEnd--;
    i += 2;
    if (count >= maxHeaders * 2) return "handoff";
    const known = nameEnd - nameStart < KNOWN_NAMES_BY_LENGTH.length ? KNOWN_NAMES_BY_LENGTH[nameEnd - nameStart] : undefined;
    const name = (known && matchKnown(buf, nameStart, nameEnd, known)) ?? buf.toString("latin1", nameStart, nameEnd);
    const value = buf.toString("latin1", valueStart, valueEnd);
    scratch[count++] = name;
    scratch[count++] = value;
    switch (nameEnd - nameStart) {
      case 14:
        if (lowerName(name) === "content-length") {
          if (contentLength >= 0 || value.length === 0 || value.length > MAX_CL_DIGITS) return "handoff";
          for (let k = 0; k < value.length; k++) {
            const c = value.charCodeAt(k);
            if (c < 48 || c > 57) return "handoff";
          }
          contentLength = Number(value);
        }
        break;
      case 17:
        if (lowerName(name) === "transfer-encoding") return "handoff";
        break;
      case 7:
        if (lowerName(name) === "upgrade") return "handoff";
        break;
      case 6:
        if (lowerName(name) === "expect") return "handoff";
        break;
      case 10:
        if (lowerName(name) === "connection") {
          const tokens = value.toLowerCase();
          if (tokens.includes("upgrade")) return "handoff";
          if (/(?:^|[\s,])close(?:$|[\s,])/.test(tokens)) keepAlive = false;
        }
        break;
    }
  }
  const end = i + 2;
  if (end - start > maxHeadBytes) return "handoff";
  return { method, target, rawHeaders: scratch.slice(0, count), contentLength: contentLength < 0 ? 0 : contentLength, keepAlive, end };
}

/** An incomplete head: wait for more bytes unless it is already over the codec's cap. */
function tooLong(have: number, maxHeadBytes: number): LeanParseResult {
  return have > maxHeadBytes ? "handoff" : "incomplete";
}
