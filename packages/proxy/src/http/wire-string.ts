/**
 * The codecs write header strings one byte per character (latin1). A string from config is Unicode and Envoy
 * sends its UTF-8 bytes, so it is turned once, when compiled, into the string whose characters are those bytes
 * (identity for ASCII). Without this a character above U+00FF would lose its high byte (U+010A → LF).
 */
export function utf8WireString(text: string): string {
  return Buffer.from(text, "utf8").toString("latin1");
}

/** A byte of a header value that is not ASCII. */
const NON_ASCII = /[\x80-\xff]/;

/**
 * The inverse: a header value (wire bytes, one per character) as the text its bytes spell, for what compares
 * or writes it as text — config's string and regex matchers, access log lines. Envoy compares and logs the
 * bytes, and config text stands for its UTF-8 bytes, so decoding the value's UTF-8 gives the same answers.
 * Bytes that are not UTF-8 become U+FFFD (no config text can match them either). Identity for ASCII.
 */
export function wireText(value: string): string {
  return NON_ASCII.test(value) ? Buffer.from(value, "latin1").toString("utf8") : value;
}
