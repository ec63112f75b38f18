// A file of Kubernetes YAML or JSON → its documents, each with an origin for
// error messages. Multi-document YAML (`---`) and `kind: List` / `*List`
// wrappers (what `kubectl get -o yaml` prints) are unrolled.
import { parseAllDocuments } from "yaml";
import { isObject } from "./field-checker.js";

export interface RawDocument {
  doc: unknown;
  origin: string;
}

/** Thrown when the file itself does not parse: the caller keeps the file's previous objects. */
export class SyntaxFileError extends Error {
  constructor(
    readonly origin: string,
    message: string,
  ) {
    super(message);
    this.name = "SyntaxFileError";
  }
}

export function parseDocuments(text: string, file: string): RawDocument[] {
  const out: RawDocument[] = [];
  if (file.endsWith(".json")) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new SyntaxFileError(file, `invalid JSON: ${withoutSnippet((err as Error).message)}`);
    }
    unroll(doc, file, out);
    return out;
  }
  const docs = parseAllDocuments(text, { version: "1.2", merge: true, prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((d, i) => {
    const origin = list.length > 1 ? `${file} (document ${i + 1})` : file;
    if (d.errors.length > 0) {
      const e = d.errors[0];
      const line = e.linePos?.[0];
      throw new SyntaxFileError(origin, `YAML syntax error${line ? ` at line ${line.line}, column ${line.col}` : ""}: ${e.message.split("\n")[0]}`);
    }
    const value: unknown = d.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return; // empty document (a trailing `---`)
    unroll(value, origin, out);
  });
  return out;
}

/**
 * V8 quotes the text around a JSON syntax error (`Unexpected token 'x', ..."…"...
 * is not valid JSON`); in a Secret's file that text can be key material, and the
 * message goes to logs and /debug/configz. Keep the token, drop the quote.
 */
function withoutSnippet(message: string): string {
  return message.replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, " (text not shown)");
}

function unroll(doc: unknown, origin: string, out: RawDocument[]): void {
  if (isObject(doc) && typeof doc.kind === "string" && doc.kind.endsWith("List") && Array.isArray(doc.items)) {
    doc.items.forEach((item, i) => out.push({ doc: item, origin: `${origin} items[${i}]` }));
    return;
  }
  out.push({ doc, origin });
}
