/**
 * The codecs write header strings one byte per character (latin1). A string from config is Unicode and Envoy
 * sends its UTF-8 bytes, so it is turned once, when compiled, into the string whose characters are those bytes
 * (identity for ASCII). Without this a character above U+00FF would lose its high byte (U+010A → LF).
 */
export function utf8WireString(text: string): string {
  return Buffer.from(text, "utf8").toString("latin1");
}
