// RFC 9110 field syntax shared by every HTTP/1 codec path: the request
// validator, the lean codec's head parser and its response-head writer.

/** RFC 9110 tchar, by char code (256 entries, so a byte indexes it directly). */
export const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

/** A non-empty token (a header name, a method). */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TCHAR[c] === 0) return false;
  }
  return true;
}

/** RFC 9110 field-value: VCHAR, obs-text, SP and HTAB; never NUL, CR, LF or another control. */
export function isValidFieldValue(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 ? c !== 0x09 : c === 0x7f || c > 0xff) return false;
  }
  return true;
}
