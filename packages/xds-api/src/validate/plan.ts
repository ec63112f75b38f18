import { ScalarType, getOption, hasOption, type DescEnum, type DescField, type DescMessage, type DescOneof } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import { required as oneofRequired, rules as fieldRules, type FieldRules, type MapRules, type RepeatedRules } from "../gen/validate/validate_pb.js";
import { fieldPath, indexPath, keyPath, show } from "./format.js";
import { compileMessageValue } from "./message-check.js";
import { compileBool, compileEnum, compileNumeric } from "./numeric-rules.js";
import { isDisabled } from "./reach.js";
import { ruleValue } from "./rule-fields.js";
import { compileBytes, compileString } from "./string-rules.js";
import { report, type Check, type Context } from "./types.js";

type Fields = Record<string, unknown>;

/** What to run for one message type: only its fields that carry a check. */
export interface MessagePlan {
  readonly fields: ReadonlyArray<(message: Fields, path: string, ctx: Context) => void>;
  readonly requiredOneofs: readonly DescOneof[];
}

const EMPTY: MessagePlan = { fields: [], requiredOneofs: [] };
const plans = new WeakMap<DescMessage, MessagePlan>();

/** The plan for a message type, built once and cached per descriptor. */
export function planOf(desc: DescMessage): MessagePlan {
  let plan = plans.get(desc);
  if (!plan) {
    // Registered before building so recursive types find it (their fields only
    // reach it at validation time, by then it is complete).
    plan = isDisabled(desc) ? EMPTY : { fields: [], requiredOneofs: desc.oneofs.filter((o) => getOption(o, oneofRequired)) };
    plans.set(desc, plan);
    if (plan !== EMPTY) {
      const runs = plan.fields as Array<MessagePlan["fields"][number]>;
      for (const field of desc.fields) {
        const run = compileField(field);
        if (run) runs.push(run);
      }
    }
  }
  return plan;
}

/** The scalar rule families, chosen by which rule case is set (PGV's generator checks it matches the field type). */
function compileScalar(rules: FieldRules, enumDesc?: DescEnum): Check | undefined {
  const t = rules.type;
  switch (t.case) {
    case "float": case "double": case "int32": case "int64": case "uint32": case "uint64":
    case "sint32": case "sint64": case "fixed32": case "fixed64": case "sfixed32": case "sfixed64":
      return compileNumeric(t.case, t.value);
    case "bool": return compileBool(t.value);
    case "string": return compileString(t.value);
    case "bytes": return compileBytes(t.value);
    case "enum": return compileEnum(t.value, enumDesc);
    default: return undefined;
  }
}

type ElementType = { kind: "scalar" } | { kind: "enum"; desc: DescEnum } | { kind: "message"; desc: DescMessage };

function compileElement(type: ElementType, rules: FieldRules | undefined): Check | undefined {
  if (type.kind === "message") return compileMessageValue(type.desc, rules, (r) => compileScalar(r));
  return rules && compileScalar(rules, type.kind === "enum" ? type.desc : undefined);
}

function elementOf(field: DescField): ElementType {
  switch (field.fieldKind) {
    case "message": return { kind: "message", desc: field.message };
    case "enum": return { kind: "enum", desc: field.enum };
    case "list":
      if (field.listKind === "message") return { kind: "message", desc: field.message };
      if (field.listKind === "enum") return { kind: "enum", desc: field.enum };
      return { kind: "scalar" };
    case "map":
      if (field.mapKind === "message") return { kind: "message", desc: field.message };
      if (field.mapKind === "enum") return { kind: "enum", desc: field.enum };
      return { kind: "scalar" };
    default: return { kind: "scalar" };
  }
}

const UNSET = Symbol("unset");

/** Reads a field's value; a oneof member that is not the selected case is UNSET (its rules do not apply). */
function reader(field: DescField): (message: Fields) => unknown {
  const oneof = field.oneof;
  if (oneof) {
    return (m) => {
      const o = m[oneof.localName] as { case?: string; value?: unknown } | undefined;
      return o?.case === field.localName ? o.value : UNSET;
    };
  }
  // proto3 `optional` scalars are undefined when absent; PGV checks them only when set.
  if (field.fieldKind !== "message" && field.presence === FeatureSet_FieldPresence.EXPLICIT) {
    return (m) => (m[field.localName] === undefined ? UNSET : m[field.localName]);
  }
  return (m) => m[field.localName];
}

function compileField(field: DescField): ((message: Fields, path: string, ctx: Context) => void) | undefined {
  const rules = hasOption(field, fieldRules) ? getOption(field, fieldRules) : undefined;
  const read = reader(field);
  const name = field.name;
  let check: Check | undefined;
  if (field.fieldKind === "list") {
    check = compileList(rules?.type.case === "repeated" ? rules.type.value : undefined, elementOf(field));
  } else if (field.fieldKind === "map") {
    check = compileMap(rules?.type.case === "map" ? rules.type.value : undefined, elementOf(field), field);
  } else {
    check = compileElement(elementOf(field), rules);
  }
  if (!check) return undefined;
  const run = check;
  return (message, path, ctx) => {
    const value = read(message);
    if (value !== UNSET) run(value, fieldPath(path, name), ctx);
  };
}

/** A stable identity for `unique`: bytes by content, everything else by value. */
function identity(v: unknown): unknown {
  return v instanceof Uint8Array ? Buffer.from(v).toString("base64") : v;
}

function compileList(rules: RepeatedRules | undefined, type: ElementType): Check | undefined {
  const min = rules && ruleValue<bigint>(rules, "minItems");
  const max = rules && ruleValue<bigint>(rules, "maxItems");
  const unique = rules !== undefined && ruleValue<boolean>(rules, "unique") === true && type.kind !== "message";
  const ignoreEmpty = rules !== undefined && ruleValue<boolean>(rules, "ignoreEmpty") === true;
  const item = compileElement(type, rules?.items);
  if (min === undefined && max === undefined && !unique && !item) return undefined;
  return (raw, path, ctx) => {
    const list = raw as unknown[];
    if (ignoreEmpty && list.length === 0) return;
    if (min !== undefined && list.length < Number(min)) {
      report(ctx, path, "repeated.min_items", `value must contain at least ${min} item(s), got ${list.length}`);
    }
    if (max !== undefined && list.length > Number(max)) {
      report(ctx, path, "repeated.max_items", `value must contain no more than ${max} item(s), got ${list.length}`);
    }
    if (unique) {
      const seen = new Set<unknown>();
      for (let i = 0; i < list.length; i++) {
        const id = identity(list[i]);
        if (seen.has(id)) report(ctx, indexPath(path, i), "repeated.unique", `repeated value must contain unique items, got duplicate ${show(list[i])}`);
        seen.add(id);
      }
    }
    if (item) for (let i = 0; i < list.length && !ctx.full(); i++) item(list[i], indexPath(path, i), ctx);
  };
}

/** protobuf-es keeps map keys as object property names; rules see them in their proto type. */
function keyConverter(key: ScalarType): (k: string) => unknown {
  switch (key) {
    case ScalarType.BOOL: return (k) => k === "true";
    case ScalarType.INT64: case ScalarType.UINT64: case ScalarType.SINT64:
    case ScalarType.FIXED64: case ScalarType.SFIXED64: return (k) => BigInt(k);
    case ScalarType.STRING: return (k) => k;
    default: return (k) => Number(k);
  }
}

function compileMap(rules: MapRules | undefined, type: ElementType, field: DescField): Check | undefined {
  if (field.fieldKind !== "map") return undefined;
  const min = rules && ruleValue<bigint>(rules, "minPairs");
  const max = rules && ruleValue<bigint>(rules, "maxPairs");
  const noSparse = rules !== undefined && ruleValue<boolean>(rules, "noSparse") === true;
  const ignoreEmpty = rules !== undefined && ruleValue<boolean>(rules, "ignoreEmpty") === true;
  const keyCheck = rules?.keys && compileScalar(rules.keys);
  const valueCheck = compileElement(type, rules?.values);
  if (min === undefined && max === undefined && !noSparse && !keyCheck && !valueCheck) return undefined;
  const toKey = keyConverter(field.mapKey);
  return (raw, path, ctx) => {
    const entries = Object.entries(raw as Record<string, unknown>);
    if (ignoreEmpty && entries.length === 0) return;
    if (min !== undefined && entries.length < Number(min)) {
      report(ctx, path, "map.min_pairs", `value must contain at least ${min} pair(s), got ${entries.length}`);
    }
    if (max !== undefined && entries.length > Number(max)) {
      report(ctx, path, "map.max_pairs", `value must contain no more than ${max} pair(s), got ${entries.length}`);
    }
    for (const [k, v] of entries) {
      if (ctx.full()) return;
      const key = toKey(k);
      const at = keyPath(path, key as string | number | bigint | boolean);
      if (noSparse && (v === undefined || v === null)) report(ctx, at, "map.no_sparse", "map values must not be unset");
      keyCheck?.(key, at, ctx);
      valueCheck?.(v, at, ctx);
    }
  };
}
