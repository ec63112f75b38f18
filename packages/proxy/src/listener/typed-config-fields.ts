// Reads the few scalar fields Weft needs from typed_config messages that
// @weft/xds-api does not generate yet (connection_limit's ConnectionLimit, the
// downstream connections resource monitor's config): straight from the
// protobuf wire bytes of an Any from xDS, or from the Struct of a
// udpa/xds TypedStruct, the form a JSON/YAML bootstrap can name them in.
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import type { JsonObject } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { TypedStructSchema } from "@weft/xds-api/gen/udpa/type/v1/typed_struct_pb.js";
import { ResourceRejectedError } from "../contracts.js";

const TYPED_STRUCTS = ["type.googleapis.com/udpa.type.v1.TypedStruct", "type.googleapis.com/xds.type.v3.TypedStruct"];

export type ConfigFields =
  | { kind: "wire"; fields: Map<number, Array<bigint | Uint8Array>> }
  | { kind: "json"; value: JsonObject };

function decodeWire(bytes: Uint8Array, res: string, field: string): Map<number, Array<bigint | Uint8Array>> {
  const out = new Map<number, Array<bigint | Uint8Array>>();
  const r = new BinaryReader(bytes);
  try {
    while (r.pos < r.len) {
      const [no, wt] = r.tag();
      let v: bigint | Uint8Array | undefined;
      if (wt === WireType.Varint) v = BigInt(r.uint64());
      else if (wt === WireType.LengthDelimited) v = r.bytes();
      else r.skip(wt);
      if (v !== undefined) out.set(no, [...(out.get(no) ?? []), v]);
    }
  } catch (err) {
    throw new ResourceRejectedError(res, field, `cannot decode: ${(err as Error).message}`);
  }
  return out;
}

/** The fields of an embedded message's wire bytes. */
export function wireFields(bytes: Uint8Array, res: string, field: string): ConfigFields {
  return { kind: "wire", fields: decodeWire(bytes, res, field) };
}

/** The message's fields, from its wire bytes (`any.typeUrl === typeUrl`) or a TypedStruct naming it. */
export function typedConfigFields(any: Any, typeUrl: string, res: string, field: string): ConfigFields {
  if (any.typeUrl === typeUrl) return { kind: "wire", fields: decodeWire(any.value, res, field) };
  if (TYPED_STRUCTS.includes(any.typeUrl)) {
    // xds.type.v3.TypedStruct has the same wire shape as udpa's (type_url = 1, value = 2).
    const ts = anyUnpack({ ...any, typeUrl: TYPED_STRUCTS[0] } as Any, TypedStructSchema);
    if (ts?.typeUrl === typeUrl) return { kind: "json", value: ts.value ?? {} };
    throw new ResourceRejectedError(res, `${field}.type_url`, `expected ${typeUrl}, got ${ts?.typeUrl ?? "nothing"}`);
  }
  throw new ResourceRejectedError(res, field, `expected ${typeUrl}, got ${any.typeUrl}`);
}

function jsonOf(v: JsonObject, name: string): unknown {
  // proto3 JSON accepts the proto name and the lowerCamel json name.
  const camel = name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  return v[name] ?? v[camel];
}

/** A varint scalar (int64/uint64/bool…) at `no`, or a wrapper message (UInt64Value) with `wrapped`. */
export function varintField(f: ConfigFields, no: number, name: string, res: string, field: string, wrapped = false): bigint | undefined {
  if (f.kind === "json") {
    const v = jsonOf(f.value, name);
    if (v === undefined || v === null) return undefined;
    if ((typeof v === "number" && Number.isInteger(v)) || (typeof v === "string" && /^-?\d+$/.test(v))) return BigInt(v);
    throw new ResourceRejectedError(res, `${field}.${name}`, `expected an integer, got ${JSON.stringify(v)}`);
  }
  const last = f.fields.get(no)?.at(-1);
  if (last === undefined) return undefined;
  if (wrapped) {
    if (!(last instanceof Uint8Array)) throw new ResourceRejectedError(res, `${field}.${name}`, "expected a wrapper message");
    const inner = decodeWire(last, res, `${field}.${name}`).get(1)?.at(-1);
    return typeof inner === "bigint" ? inner : 0n;
  }
  if (typeof last !== "bigint") throw new ResourceRejectedError(res, `${field}.${name}`, "expected a varint");
  return last;
}

/** A string field at `no`. */
export function stringField(f: ConfigFields, no: number, name: string, res: string, field: string): string | undefined {
  if (f.kind === "json") {
    const v = jsonOf(f.value, name);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw new ResourceRejectedError(res, `${field}.${name}`, `expected a string, got ${JSON.stringify(v)}`);
    return v;
  }
  const last = f.fields.get(no)?.at(-1);
  if (last === undefined) return undefined;
  if (!(last instanceof Uint8Array)) throw new ResourceRejectedError(res, `${field}.${name}`, "expected a string");
  return new TextDecoder().decode(last);
}

/** A google.protobuf.Duration field at `no`, in ms ("1.5s" in JSON). */
export function durationField(f: ConfigFields, no: number, name: string, res: string, field: string): number | undefined {
  if (f.kind === "json") {
    const v = jsonOf(f.value, name);
    if (v === undefined || v === null) return undefined;
    const m = typeof v === "string" ? /^(\d+)(?:\.(\d{1,9}))?s$/.exec(v) : null;
    if (!m) throw new ResourceRejectedError(res, `${field}.${name}`, `expected a duration like "1.5s", got ${JSON.stringify(v)}`);
    return Number(m[1]) * 1000 + Math.floor(Number(`0.${m[2] ?? "0"}`) * 1000);
  }
  const last = f.fields.get(no)?.at(-1);
  if (last === undefined) return undefined;
  if (!(last instanceof Uint8Array)) throw new ResourceRejectedError(res, `${field}.${name}`, "expected a Duration message");
  const d = decodeWire(last, res, `${field}.${name}`);
  const s = d.get(1)?.at(-1);
  const n = d.get(2)?.at(-1);
  const seconds = typeof s === "bigint" ? Number(BigInt.asIntN(64, s)) : 0;
  const nanos = typeof n === "bigint" ? Number(BigInt.asIntN(32, n)) : 0;
  if (seconds < 0 || nanos < 0) throw new ResourceRejectedError(res, `${field}.${name}`, "must not be negative");
  return seconds * 1000 + Math.floor(nanos / 1e6);
}
