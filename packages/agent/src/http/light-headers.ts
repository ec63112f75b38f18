// The WHATWG Headers class (https://fetch.spec.whatwg.org/#headers-class), for weft-agent's
// own process. Connect, the agent's gRPC stack, builds a Headers object for every call's
// metadata. Node's global Headers is undici's: the first `new Headers()` loads Node's whole
// bundled undici, its llhttp WebAssembly source among it — measured +1.9 MB of heap and
// +7 MB RSS in a process that never fetches, paid by every pod's agent. This class has the
// same behaviour for everything Connect and the agent do with headers (light-headers.test.ts
// checks it against Node's own class); `installLightHeaders` puts it in place of the global
// in the agent's binary only, before anything creates one. Guards and iterator objects
// (Headers' "guard", live iteration over a changing list) are not modelled: no caller here
// needs them.

type HeaderPairs = Iterable<readonly [string, string]> | Iterable<readonly string[]>;
type LightHeadersInit = HeaderPairs | Record<string, string | readonly string[]> | LightHeaders;

// RFC 9110 token characters, by char code.
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;

function checkedName(name: string): string {
  const n = String(name);
  if (n.length === 0) throw new TypeError(`Headers: invalid header name ""`);
  for (let i = 0; i < n.length; i++) {
    const c = n.charCodeAt(i);
    if (c >= 128 || TOKEN[c] !== 1) throw new TypeError(`Headers: invalid header name ${JSON.stringify(n)}`);
  }
  return n.toLowerCase();
}

/** A ByteString (no char above 0xFF), stripped of leading and trailing HTTP whitespace (HTAB, LF, CR, SP), without NUL, CR or LF. */
function checkedValue(value: string): string {
  const raw = String(value);
  if (/[^\u0000-\u00ff]/.test(raw)) throw new TypeError(`Headers: header value ${JSON.stringify(raw)} is not a ByteString`);
  const v = raw.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
  if (/[\0\r\n]/.test(v)) throw new TypeError(`Headers: invalid header value ${JSON.stringify(v)}`);
  return v;
}

export class LightHeaders {
  /** Lower-case name → values in the order appended. */
  readonly #values = new Map<string, string[]>();

  constructor(init?: LightHeadersInit | null) {
    if (init === undefined || init === null) return;
    if (typeof init !== "object") throw new TypeError("Headers: init must be an object, an array of pairs or Headers");
    if (Symbol.iterator in init) {
      for (const pair of init as Iterable<readonly string[]>) {
        if (typeof pair !== "object" || pair === null || pair.length !== 2) throw new TypeError("Headers: each header pair must be [name, value]");
        this.append(pair[0]!, pair[1]!);
      }
      return;
    }
    for (const name of Object.keys(init)) this.append(name, (init as Record<string, string>)[name]!);
  }

  append(name: string, value: string): void {
    const key = checkedName(name);
    const v = checkedValue(value);
    const list = this.#values.get(key);
    if (list) list.push(v);
    else this.#values.set(key, [v]);
  }

  set(name: string, value: string): void {
    this.#values.set(checkedName(name), [checkedValue(value)]);
  }

  delete(name: string): void {
    this.#values.delete(checkedName(name));
  }

  has(name: string): boolean {
    return this.#values.has(checkedName(name));
  }

  get(name: string): string | null {
    return this.#values.get(checkedName(name))?.join(", ") ?? null;
  }

  getSetCookie(): string[] {
    return [...(this.#values.get("set-cookie") ?? [])];
  }

  /** Sorted by name, each name once with its values joined — but each set-cookie on its own, as the spec sorts and combines. */
  *entries(): IterableIterator<[string, string]> {
    for (const name of [...this.#values.keys()].sort()) {
      const values = this.#values.get(name);
      if (!values) continue; // deleted while iterating
      if (name === "set-cookie") for (const v of values) yield [name, v];
      else yield [name, values.join(", ")];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  forEach(callback: (value: string, name: string, parent: LightHeaders) => void, thisArg?: unknown): void {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }

  get [Symbol.toStringTag](): string {
    return "Headers";
  }
}

/**
 * Makes LightHeaders the process's global Headers. For weft-agent's binary only, at its start:
 * a library must not change its host's globals.
 */
export function installLightHeaders(): void {
  Object.defineProperty(globalThis, "Headers", { value: LightHeaders, writable: true, configurable: true, enumerable: false });
}
