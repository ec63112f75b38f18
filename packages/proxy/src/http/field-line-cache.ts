// Serialized HTTP/1.1 field lines (`name: value\r\n`), remembered per name.
//
// Most header lines a proxy writes repeat from one message to the next: the
// upstream's `server`, `content-type` and `date` (the same for a second), the
// request's `host`, `x-forwarded-proto`, `x-envoy-expected-rq-timeout-ms`. A
// head built with `+=` makes four strings per line (name + ": " + value +
// CRLF, then the append) and checks the value byte by byte every time; with the
// last line per name kept, a repeated value costs one comparison and one
// append. Values that change every time (x-request-id) just replace the line.
//
// Whether a field may be written at all is decided once per name and once per
// new value, by the predicates the cache is created with.

class Entry {
  /** The last line written for the name: a flat string of its own (see line()). */
  line: string | undefined = undefined;
  constructor(
    /** `name: `, or undefined when the name may never be written. */
    readonly prefix: string | undefined,
  ) {}
}

export interface FieldLineCache {
  /** `name: value\r\n`, or undefined when the name or the value may not be written. */
  line(name: string, value: string): string | undefined;
}

/** Names remembered at most (beyond it lines are built but not kept: an unbounded set of names can't grow it). */
const MAX_NAMES = 512;
/**
 * Longer values are written but not kept: the repeating ones are short, and a client or upstream
 * sending large values under many names must not make the cache hold megabytes.
 */
const MAX_KEPT_VALUE = 256;

class LineCache implements FieldLineCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly nameOk: (name: string) => boolean,
    private readonly valueOk: (value: string) => boolean,
  ) {}

  line(name: string, value: string): string | undefined {
    let e = this.entries.get(name);
    if (e === undefined) {
      e = new Entry(this.nameOk(name) ? name + ": " : undefined);
      if (this.entries.size < MAX_NAMES) this.entries.set(name, e);
    }
    const prefix = e.prefix;
    if (prefix === undefined) return undefined;
    // The value is compared in place, inside the kept line: nothing else of it is kept.
    const last = e.line;
    if (last !== undefined && last.length === prefix.length + value.length + 2 && last.startsWith(value, prefix.length)) return last;
    if (!this.valueOk(value)) return undefined;
    // join() makes one flat string. `prefix + value + CRLF` would be a tree of three strings
    // holding on to `value`, and a value sliced from an upstream head holds that whole head.
    if (value.length > MAX_KEPT_VALUE) return prefix + value + "\r\n";
    const line = [prefix, value, "\r\n"].join("");
    e.line = line;
    return line;
  }
}

/**
 * A cache for one direction of one codec. `nameOk` and `valueOk` must be pure: a name's verdict
 * is kept for the life of the process, a value's for as long as it is the name's last value.
 */
export function createFieldLineCache(nameOk: (name: string) => boolean, valueOk: (value: string) => boolean): FieldLineCache {
  return new LineCache(nameOk, valueOk);
}
