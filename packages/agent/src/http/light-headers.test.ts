// LightHeaders against Node's own Headers (undici's, the reference implementation): the same
// operations must give the same answers, the same iteration and the same refusals.
import { describe, expect, it } from "vitest";
import { LightHeaders } from "./light-headers.js";

const NodeHeaders = globalThis.Headers;
type AnyHeaders = LightHeaders | Headers;

/** Everything observable about a Headers object. */
function observe(h: AnyHeaders, names: string[]) {
  const looked: Record<string, unknown> = {};
  for (const n of names) looked[n] = { get: h.get(n), has: h.has(n) };
  const forEach: string[][] = [];
  h.forEach((v, k) => forEach.push([k, v]));
  return { entries: [...h.entries()], keys: [...h.keys()], values: [...h.values()], iterated: [...h], forEach, setCookie: h.getSetCookie(), looked, tag: Object.prototype.toString.call(h) };
}

function outcome(f: () => unknown): unknown {
  try {
    return { value: f() };
  } catch (err) {
    return { threw: (err as Error).name };
  }
}

const NAMES = ["content-type", "Content-Type", "grpc-status", "set-cookie", "x-a", "X-Multi", "absent", "te"];

describe("LightHeaders behaves as Node's Headers", () => {
  const inits: Array<[string, () => unknown]> = [
    ["nothing", () => undefined],
    ["an object", () => ({ "Content-Type": "application/grpc", te: "trailers", "x-a": "  padded \t" })],
    ["pairs with repeats and set-cookie", () => [["X-Multi", "1"], ["x-multi", "2"], ["set-cookie", "a=1"], ["Set-Cookie", "b=2"], ["grpc-status", "0"]]],
    ["another Headers", () => new NodeHeaders([["x-a", "1"], ["x-a", "2"], ["te", "trailers"]])],
  ];

  for (const [what, init] of inits) {
    it(`from ${what}`, () => {
      const light = new LightHeaders(init() as never);
      const node = new NodeHeaders(init() as never);
      expect(observe(light, NAMES)).toEqual(observe(node, NAMES));
    });
  }

  it("through the same sequence of append, set and delete", () => {
    const light = new LightHeaders();
    const node = new NodeHeaders();
    const ops: Array<(h: AnyHeaders) => void> = [
      (h) => h.append("X-Multi", "one"),
      (h) => h.append("x-multi", "two"),
      (h) => h.append("Set-Cookie", "a=1; Path=/"),
      (h) => h.append("set-cookie", "b=2"),
      (h) => h.set("grpc-status", "13"),
      (h) => h.set("GRPC-STATUS", "0"),
      (h) => h.append("content-type", "application/grpc+proto"),
      (h) => h.delete("Content-Type"),
      (h) => h.append("x-a", ""),
      (h) => h.append("zz", "last"),
      (h) => h.append("aa", "first"),
    ];
    for (const op of ops) {
      op(light);
      op(node);
      expect(observe(light, NAMES)).toEqual(observe(node, NAMES));
    }
  });

  it("refuses the same bad names, values and inits", () => {
    const cases: Array<(H: new (init?: never) => AnyHeaders) => unknown> = [
      (H) => new H().append("", "x"),
      (H) => new H().append("bad name", "x"),
      (H) => new H().append("x:y", "x"),
      (H) => new H().append("naïve", "x"),
      (H) => new H().append("x", "a\r\nb"),
      (H) => new H().append("x", "a\0b"),
      (H) => new H().set("x", "line\nbreak"),
      (H) => new H().get("bad name"),
      (H) => new H().has("bad name"),
      (H) => new H().delete("bad name"),
      (H) => new H([["only-a-name"]] as never),
      (H) => new H([["a", "b", "c"]] as never),
      (H) => new H("x-a: 1" as never),
      (H) => new H().append("x", "tab\tinside is fine"),
      (H) => new H().append("x", "obs-text \u00e9 is fine"),
      (H) => new H().append("x", "not a byte string \u0100"),
      (H) => new H().append("x", "emoji \u{1F600}"),
    ];
    for (const c of cases) {
      const light = outcome(() => c(LightHeaders as never));
      const node = outcome(() => c(NodeHeaders as never));
      expect(light, String(c)).toEqual(node);
    }
  });
});
