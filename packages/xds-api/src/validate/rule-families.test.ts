import { create } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Type as T } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { KnownRegex } from "../gen/validate/validate_pb.js";
import { oneFieldSchema, type FieldRulesInit, type FieldSpec } from "../test-util/rule-schema.js";
import { validateMessage } from "./validate-message.js";

const s = (seconds: number, nanos = 0) => ({ seconds: BigInt(seconds), nanos });
const NOW = new Date("2026-01-01T00:00:00Z");
const nowSeconds = NOW.getTime() / 1000;
const bytes = (...b: number[]) => new Uint8Array(b);
const DURATION = { type: T.MESSAGE, typeName: ".google.protobuf.Duration" };
const TIMESTAMP = { type: T.MESSAGE, typeName: ".google.protobuf.Timestamp" };
const ANY = { type: T.MESSAGE, typeName: ".google.protobuf.Any" };
const STR = { type: T.STRING };

type Row = [name: string, spec: FieldSpec, rules: FieldRulesInit | undefined, value: unknown, expected: string | undefined];

// [what, field, rules, value of `f`, the rule expected to fail (undefined: valid)]
const rows: Row[] = [
  // numbers, every kind
  ["uint32 lte passes", { type: T.UINT32 }, { type: { case: "uint32", value: { lte: 65535 } } }, 65535, undefined],
  ["uint32 lte fails", { type: T.UINT32 }, { type: { case: "uint32", value: { lte: 65535 } } }, 70000, "uint32.lte"],
  ["int32 lt 0 is a real bound", { type: T.INT32 }, { type: { case: "int32", value: { lt: 0 } } }, 0, "int32.lt"],
  ["int64 gt", { type: T.INT64 }, { type: { case: "int64", value: { gt: 5n } } }, 5n, "int64.gt"],
  ["uint64 gte", { type: T.UINT64 }, { type: { case: "uint64", value: { gte: 2n } } }, 1n, "uint64.gte"],
  ["sint32 const", { type: T.SINT32 }, { type: { case: "sint32", value: { const: -3 } } }, 3, "sint32.const"],
  ["sint64 in", { type: T.SINT64 }, { type: { case: "sint64", value: { in: [1n, 2n] } } }, 3n, "sint64.in"],
  ["fixed32 not_in", { type: T.FIXED32 }, { type: { case: "fixed32", value: { notIn: [7] } } }, 7, "fixed32.not_in"],
  ["fixed64 inside range passes", { type: T.FIXED64 }, { type: { case: "fixed64", value: { gt: 1n, lt: 10n } } }, 5n, undefined],
  ["sfixed32 inside (gt, lt) fails at the bound", { type: T.SFIXED32 }, { type: { case: "sfixed32", value: { gt: 1, lt: 10 } } }, 10, "sfixed32.gt_lt"],
  ["sfixed64 inside [gte, lte]", { type: T.SFIXED64 }, { type: { case: "sfixed64", value: { gte: 1n, lte: 10n } } }, 11n, "sfixed64.gte_lte"],
  ["double reversed range: outside [5, 10] rejects 7", { type: T.DOUBLE }, { type: { case: "double", value: { gt: 10, lt: 5 } } }, 7, "double.gt_lt"],
  ["double reversed range accepts 11", { type: T.DOUBLE }, { type: { case: "double", value: { gt: 10, lt: 5 } } }, 11, undefined],
  ["float reversed range accepts 4", { type: T.FLOAT }, { type: { case: "float", value: { gte: 10, lte: 5 } } }, 4, undefined],
  ["float reversed inclusive bounds accept the bound", { type: T.FLOAT }, { type: { case: "float", value: { gte: 10, lte: 5 } } }, 5, undefined],
  ["float reversed range rejects 6", { type: T.FLOAT }, { type: { case: "float", value: { gte: 10, lte: 5 } } }, 6, "float.gte_lte"],
  ["ignore_empty skips 0", { type: T.UINT32 }, { type: { case: "uint32", value: { gte: 10, ignoreEmpty: true } } }, 0, undefined],
  ["ignore_empty still checks 1", { type: T.UINT32 }, { type: { case: "uint32", value: { gte: 10, ignoreEmpty: true } } }, 1, "uint32.gte"],
  ["proto3 optional unset is not checked", { type: T.UINT32, optional: true }, { type: { case: "uint32", value: { gte: 10 } } }, undefined, undefined],
  ["proto3 optional set is checked", { type: T.UINT32, optional: true }, { type: { case: "uint32", value: { gte: 10 } } }, 0, "uint32.gte"],
  // bool
  ["bool const", { type: T.BOOL }, { type: { case: "bool", value: { const: true } } }, false, "bool.const"],
  // wrappers: rules apply to the wrapped value when present
  ["wrapper absent passes", { type: T.MESSAGE, typeName: ".google.protobuf.UInt32Value" }, { type: { case: "uint32", value: { gte: 1 } } }, undefined, undefined],
  ["wrapper present is checked", { type: T.MESSAGE, typeName: ".google.protobuf.UInt32Value" }, { type: { case: "uint32", value: { gte: 1 } } }, 0, "uint32.gte"],
  ["string wrapper", { type: T.MESSAGE, typeName: ".google.protobuf.StringValue" }, { type: { case: "string", value: { minLen: 2n } } }, "a", "string.min_len"],
  ["wrapper required", { type: T.MESSAGE, typeName: ".google.protobuf.BoolValue" }, { message: { required: true } }, undefined, "message.required"],
  // strings
  ["string const", STR, { type: { case: "string", value: { const: "a" } } }, "b", "string.const"],
  ["string len counts code points", STR, { type: { case: "string", value: { len: 2n } } }, "😀é", undefined],
  ["string len", STR, { type: { case: "string", value: { len: 2n } } }, "abc", "string.len"],
  ["string min_len", STR, { type: { case: "string", value: { minLen: 1n } } }, "", "string.min_len"],
  ["string max_len counts code points", STR, { type: { case: "string", value: { maxLen: 1n } } }, "😀", undefined],
  ["string max_len", STR, { type: { case: "string", value: { maxLen: 1n } } }, "ab", "string.max_len"],
  ["string len_bytes", STR, { type: { case: "string", value: { lenBytes: 2n } } }, "é", undefined],
  ["string min_bytes", STR, { type: { case: "string", value: { minBytes: 3n } } }, "é", "string.min_bytes"],
  ["string max_bytes", STR, { type: { case: "string", value: { maxBytes: 3n } } }, "😀", "string.max_bytes"],
  ["string pattern (RE2) passes", STR, { type: { case: "string", value: { pattern: "^[^:]+$" } } }, "abc", undefined],
  ["string pattern is a search", STR, { type: { case: "string", value: { pattern: "b" } } }, "abc", undefined],
  ["string pattern fails", STR, { type: { case: "string", value: { pattern: "^[^:]+$" } } }, "a:b", "string.pattern"],
  ["string pattern with RE2-only syntax", STR, { type: { case: "string", value: { pattern: "^(?P<name>\\pL+)$" } } }, "héllo", undefined],
  ["string prefix", STR, { type: { case: "string", value: { prefix: "x-" } } }, "y-a", "string.prefix"],
  ["string suffix", STR, { type: { case: "string", value: { suffix: ".com" } } }, "a.org", "string.suffix"],
  ["string contains", STR, { type: { case: "string", value: { contains: "mid" } } }, "no", "string.contains"],
  ["string not_contains", STR, { type: { case: "string", value: { notContains: ".." } } }, "a..b", "string.not_contains"],
  ["string in", STR, { type: { case: "string", value: { in: ["a", "b"] } } }, "c", "string.in"],
  ["string not_in", STR, { type: { case: "string", value: { notIn: ["a"] } } }, "a", "string.not_in"],
  ["string ignore_empty", STR, { type: { case: "string", value: { minLen: 3n, ignoreEmpty: true } } }, "", undefined],
  ["email passes", STR, { type: { case: "string", value: { wellKnown: { case: "email", value: true } } } }, "Jo <jo@example.com>", undefined],
  ["email fails", STR, { type: { case: "string", value: { wellKnown: { case: "email", value: true } } } }, "jo@", "string.email"],
  ["hostname passes", STR, { type: { case: "string", value: { wellKnown: { case: "hostname", value: true } } } }, "a-b.example.com.", undefined],
  ["hostname fails", STR, { type: { case: "string", value: { wellKnown: { case: "hostname", value: true } } } }, "-a.example", "string.hostname"],
  ["ip passes v6", STR, { type: { case: "string", value: { wellKnown: { case: "ip", value: true } } } }, "::1", undefined],
  ["ip fails", STR, { type: { case: "string", value: { wellKnown: { case: "ip", value: true } } } }, "1.2.3", "string.ip"],
  ["ipv4 fails on v6", STR, { type: { case: "string", value: { wellKnown: { case: "ipv4", value: true } } } }, "::1", "string.ipv4"],
  ["ipv6 fails on v4", STR, { type: { case: "string", value: { wellKnown: { case: "ipv6", value: true } } } }, "1.2.3.4", "string.ipv6"],
  ["uri passes", STR, { type: { case: "string", value: { wellKnown: { case: "uri", value: true } } } }, "https://a.b/c?d=%20#e", undefined],
  ["uri must be absolute", STR, { type: { case: "string", value: { wellKnown: { case: "uri", value: true } } } }, "/c", "string.uri"],
  ["uri_ref accepts relative", STR, { type: { case: "string", value: { wellKnown: { case: "uriRef", value: true } } } }, "../c?d", undefined],
  ["uri_ref rejects spaces", STR, { type: { case: "string", value: { wellKnown: { case: "uriRef", value: true } } } }, "a b", "string.uri_ref"],
  ["address accepts a host name", STR, { type: { case: "string", value: { wellKnown: { case: "address", value: true } } } }, "istiod.istio-system.svc", undefined],
  ["address rejects junk", STR, { type: { case: "string", value: { wellKnown: { case: "address", value: true } } } }, "a_b:1", "string.address"],
  ["uuid", STR, { type: { case: "string", value: { wellKnown: { case: "uuid", value: true } } } }, "123e4567-e89b-12d3-a456-42661417400", "string.uuid"],
  ["header name strict", STR, { type: { case: "string", value: { wellKnown: { case: "wellKnownRegex", value: KnownRegex.HTTP_HEADER_NAME } } } }, "x y", "string.well_known_regex"],
  ["header name strict accepts pseudo-headers", STR, { type: { case: "string", value: { wellKnown: { case: "wellKnownRegex", value: KnownRegex.HTTP_HEADER_NAME } } } }, ":authority", undefined],
  ["header name loose", STR, { type: { case: "string", value: { strict: false, wellKnown: { case: "wellKnownRegex", value: KnownRegex.HTTP_HEADER_NAME } } } }, "x y", undefined],
  ["header value strict rejects control chars", STR, { type: { case: "string", value: { wellKnown: { case: "wellKnownRegex", value: KnownRegex.HTTP_HEADER_VALUE } } } }, "a\u0001", "string.well_known_regex"],
  ["header value strict allows tab", STR, { type: { case: "string", value: { wellKnown: { case: "wellKnownRegex", value: KnownRegex.HTTP_HEADER_VALUE } } } }, "a\tb", undefined],
  ["header value loose rejects newline", STR, { type: { case: "string", value: { strict: false, wellKnown: { case: "wellKnownRegex", value: KnownRegex.HTTP_HEADER_VALUE } } } }, "a\nb", "string.well_known_regex"],
  // bytes
  ["bytes const", { type: T.BYTES }, { type: { case: "bytes", value: { const: bytes(1, 2) } } }, bytes(1), "bytes.const"],
  ["bytes len", { type: T.BYTES }, { type: { case: "bytes", value: { len: 2n } } }, bytes(1), "bytes.len"],
  ["bytes min_len", { type: T.BYTES }, { type: { case: "bytes", value: { minLen: 1n } } }, bytes(), "bytes.min_len"],
  ["bytes max_len", { type: T.BYTES }, { type: { case: "bytes", value: { maxLen: 1n } } }, bytes(1, 2), "bytes.max_len"],
  ["bytes pattern", { type: T.BYTES }, { type: { case: "bytes", value: { pattern: "^a+$" } } }, bytes(0x61, 0x62), "bytes.pattern"],
  ["bytes prefix", { type: T.BYTES }, { type: { case: "bytes", value: { prefix: bytes(9) } } }, bytes(1, 9), "bytes.prefix"],
  ["bytes suffix", { type: T.BYTES }, { type: { case: "bytes", value: { suffix: bytes(9) } } }, bytes(1, 9), undefined],
  ["bytes contains", { type: T.BYTES }, { type: { case: "bytes", value: { contains: bytes(2, 3) } } }, bytes(1, 2, 4), "bytes.contains"],
  ["bytes in", { type: T.BYTES }, { type: { case: "bytes", value: { in: [bytes(1)] } } }, bytes(2), "bytes.in"],
  ["bytes not_in", { type: T.BYTES }, { type: { case: "bytes", value: { notIn: [bytes(1)] } } }, bytes(1), "bytes.not_in"],
  ["bytes ipv4", { type: T.BYTES }, { type: { case: "bytes", value: { wellKnown: { case: "ipv4", value: true } } } }, bytes(1, 2, 3), "bytes.ipv4"],
  ["bytes ip accepts 16", { type: T.BYTES }, { type: { case: "bytes", value: { wellKnown: { case: "ip", value: true } } } }, new Uint8Array(16), undefined],
  ["bytes ignore_empty", { type: T.BYTES }, { type: { case: "bytes", value: { len: 4n, ignoreEmpty: true } } }, bytes(), undefined],
  // enums (google.protobuf.NullValue has the single value 0)
  ["enum defined_only", { type: T.ENUM, typeName: ".google.protobuf.NullValue" }, { type: { case: "enum", value: { definedOnly: true } } }, 3, "enum.defined_only"],
  ["enum defined_only passes", { type: T.ENUM, typeName: ".google.protobuf.NullValue" }, { type: { case: "enum", value: { definedOnly: true } } }, 0, undefined],
  ["enum const", { type: T.ENUM, typeName: ".google.protobuf.NullValue" }, { type: { case: "enum", value: { const: 1 } } }, 0, "enum.const"],
  ["enum in", { type: T.ENUM, typeName: ".google.protobuf.NullValue" }, { type: { case: "enum", value: { in: [1, 2] } } }, 0, "enum.in"],
  ["enum not_in", { type: T.ENUM, typeName: ".google.protobuf.NullValue" }, { type: { case: "enum", value: { notIn: [0] } } }, 0, "enum.not_in"],
  // messages
  ["message required", DURATION, { message: { required: true } }, undefined, "message.required"],
  ["message skip stops descent", { type: T.MESSAGE, typeName: ".google.protobuf.Duration", repeated: true }, { type: { case: "repeated", value: { items: { message: { skip: true } } } } }, [s(1)], undefined],
  // repeated
  ["repeated min_items", { type: T.STRING, repeated: true }, { type: { case: "repeated", value: { minItems: 1n } } }, [], "repeated.min_items"],
  ["repeated max_items", { type: T.STRING, repeated: true }, { type: { case: "repeated", value: { maxItems: 1n } } }, ["a", "b"], "repeated.max_items"],
  ["repeated unique", { type: T.STRING, repeated: true }, { type: { case: "repeated", value: { unique: true } } }, ["a", "b", "a"], "repeated.unique"],
  ["repeated unique bytes by content", { type: T.BYTES, repeated: true }, { type: { case: "repeated", value: { unique: true } } }, [bytes(1), bytes(1)], "repeated.unique"],
  ["repeated items", { type: T.STRING, repeated: true }, { type: { case: "repeated", value: { items: { type: { case: "string", value: { minLen: 1n } } } } } }, ["a", ""], "string.min_len"],
  ["repeated ignore_empty", { type: T.STRING, repeated: true }, { type: { case: "repeated", value: { minItems: 2n, ignoreEmpty: true } } }, [], undefined],
  ["repeated durations checked by Envoy's rule", { type: T.MESSAGE, typeName: ".google.protobuf.Duration", repeated: true }, undefined, [s(1), s(-1)], "envoy.duration"],
  // maps
  ["map min_pairs", { type: T.STRING, mapKey: T.STRING }, { type: { case: "map", value: { minPairs: 1n } } }, {}, "map.min_pairs"],
  ["map max_pairs", { type: T.STRING, mapKey: T.STRING }, { type: { case: "map", value: { maxPairs: 1n } } }, { a: "1", b: "2" }, "map.max_pairs"],
  ["map keys", { type: T.STRING, mapKey: T.STRING }, { type: { case: "map", value: { keys: { type: { case: "string", value: { minLen: 2n } } } } } }, { a: "1" }, "string.min_len"],
  ["map int keys are numbers", { type: T.STRING, mapKey: T.UINT32 }, { type: { case: "map", value: { keys: { type: { case: "uint32", value: { gt: 5 } } } } } }, { 3: "x" }, "uint32.gt"],
  ["map values", { type: T.STRING, mapKey: T.STRING }, { type: { case: "map", value: { values: { type: { case: "string", value: { in: ["x"] } } } } } }, { a: "y" }, "string.in"],
  ["map no_sparse with values present", { ...DURATION, mapKey: T.STRING }, { type: { case: "map", value: { noSparse: true } } }, { a: s(1) }, undefined],
  ["map ignore_empty", { type: T.STRING, mapKey: T.STRING }, { type: { case: "map", value: { minPairs: 1n, ignoreEmpty: true } } }, {}, undefined],
  // any
  ["any required", ANY, { type: { case: "any", value: { required: true } } }, undefined, "any.required"],
  ["any in", ANY, { type: { case: "any", value: { in: ["type.googleapis.com/google.protobuf.Empty"] } } }, { typeUrl: "type.googleapis.com/x.Y" }, "any.in"],
  ["any not_in", ANY, { type: { case: "any", value: { notIn: ["type.googleapis.com/x.Y"] } } }, { typeUrl: "type.googleapis.com/x.Y" }, "any.not_in"],
  // durations
  ["duration required", DURATION, { type: { case: "duration", value: { required: true } } }, undefined, "duration.required"],
  ["duration const", DURATION, { type: { case: "duration", value: { const: s(1) } } }, s(2), "duration.const"],
  ["duration lt", DURATION, { type: { case: "duration", value: { lt: s(1) } } }, s(1), "duration.lt"],
  ["duration lte passes", DURATION, { type: { case: "duration", value: { lte: s(1) } } }, s(1), undefined],
  ["duration gt", DURATION, { type: { case: "duration", value: { gt: s(0, 1_000_000) } } }, s(0, 1_000_000), "duration.gt"],
  ["duration gte", DURATION, { type: { case: "duration", value: { gte: s(1) } } }, s(0, 999_999_999), "duration.gte"],
  ["duration in", DURATION, { type: { case: "duration", value: { in: [s(1), s(2)] } } }, s(3), "duration.in"],
  ["duration not_in", DURATION, { type: { case: "duration", value: { notIn: [s(0)] } } }, s(0), "duration.not_in"],
  ["duration reversed range", DURATION, { type: { case: "duration", value: { gt: s(10), lt: s(5) } } }, s(7), "duration.gt_lt"],
  ["duration negative (Envoy)", DURATION, undefined, s(-1), "envoy.duration"],
  ["duration mixed signs (Envoy)", DURATION, undefined, s(1, -5), "envoy.duration"],
  ["duration too long (Envoy)", DURATION, undefined, s(315_576_000_001), "envoy.duration"],
  // timestamps
  ["timestamp required", TIMESTAMP, { type: { case: "timestamp", value: { required: true } } }, undefined, "timestamp.required"],
  ["timestamp const", TIMESTAMP, { type: { case: "timestamp", value: { const: s(5) } } }, s(6), "timestamp.const"],
  ["timestamp lt", TIMESTAMP, { type: { case: "timestamp", value: { lt: s(5) } } }, s(5), "timestamp.lt"],
  ["timestamp gte", TIMESTAMP, { type: { case: "timestamp", value: { gte: s(5) } } }, s(4), "timestamp.gte"],
  ["timestamp lt_now", TIMESTAMP, { type: { case: "timestamp", value: { ltNow: true } } }, s(nowSeconds + 1), "timestamp.lt_now"],
  ["timestamp lt_now passes", TIMESTAMP, { type: { case: "timestamp", value: { ltNow: true } } }, s(nowSeconds - 1), undefined],
  ["timestamp gt_now", TIMESTAMP, { type: { case: "timestamp", value: { gtNow: true } } }, s(nowSeconds - 1), "timestamp.gt_now"],
  ["timestamp gt_now within", TIMESTAMP, { type: { case: "timestamp", value: { gtNow: true, within: s(10) } } }, s(nowSeconds + 11), "timestamp.gt_now"],
  ["timestamp within passes", TIMESTAMP, { type: { case: "timestamp", value: { within: s(10) } } }, s(nowSeconds - 9), undefined],
  ["timestamp within fails", TIMESTAMP, { type: { case: "timestamp", value: { within: s(10) } } }, s(nowSeconds + 20), "timestamp.within"],
];

describe("validateMessage() rule families", () => {
  it.each(rows)("%s", (_name, spec, rules, value, expected) => {
    const schema = oneFieldSchema(spec, rules);
    const message = create(schema, value === undefined ? {} : ({ f: value } as never));
    const issues = validateMessage(schema, message, { now: NOW });
    if (expected === undefined) {
      expect(issues).toEqual([]);
    } else {
      expect(issues.map((i) => i.rule)).toEqual([expected]);
      expect(issues[0].path).toMatch(/^f(\[|$)/);
      expect(issues[0].message.length).toBeGreaterThan(10);
    }
  });

  it("names the bound and the value", () => {
    const schema = oneFieldSchema(STR, { type: { case: "string", value: { prefix: "x-" } } });
    expect(validateMessage(schema, create(schema, { f: "y" } as never))).toEqual([
      { path: "f", rule: "string.prefix", message: 'value does not have prefix "x-", got "y"' },
    ]);
    const range = oneFieldSchema({ type: T.INT32 }, { type: { case: "int32", value: { gt: 10, lt: 5 } } });
    expect(validateMessage(range, create(range, { f: 7 } as never))[0].message).toBe("value must be outside range [5, 10], got 7");
  });

  it("gives list and map paths", () => {
    const list = oneFieldSchema({ type: T.STRING, repeated: true }, { type: { case: "repeated", value: { items: { type: { case: "string", value: { minLen: 1n } } } } } });
    expect(validateMessage(list, create(list, { f: ["a", ""] } as never))[0].path).toBe("f[1]");
    const map = oneFieldSchema({ type: T.STRING, mapKey: T.STRING }, { type: { case: "map", value: { values: { type: { case: "string", value: { minLen: 1n } } } } } });
    expect(validateMessage(map, create(map, { f: { "k.1": "" } } as never))[0].path).toBe('f["k.1"]');
  });

  it("reports an invalid pattern instead of throwing", () => {
    const schema = oneFieldSchema(STR, { type: { case: "string", value: { pattern: "(?=lookahead)" } } });
    expect(validateMessage(schema, create(schema, { f: "x" } as never))).toEqual([
      expect.objectContaining({ rule: "string.pattern", message: expect.stringContaining("invalid RE2 pattern") }),
    ]);
  });

  it.each([
    ["(validate.disabled)", { disabled: true }],
    ["(validate.ignored)", { ignored: true }],
  ])("applies no rule in a message marked %s", (_name, options) => {
    const schema = oneFieldSchema({ type: T.UINT32 }, { type: { case: "uint32", value: { lte: 1 } } }, options);
    expect(validateMessage(schema, create(schema, { f: 5 } as never))).toEqual([]);
  });
});
