import type { DescEnum } from "@bufbuild/protobuf";
import type { BoolRules, EnumRules } from "../gen/validate/validate_pb.js";
import { show } from "./format.js";
import { compileRange, type Ordered } from "./range.js";
import { ruleList, ruleValue } from "./rule-fields.js";
import { report, type Check } from "./types.js";

/** Float, double and every integer family (int32 … sfixed64): const, ranges, in, not_in, ignore_empty. */
export function compileNumeric(family: string, rules: Parameters<typeof ruleValue>[0]): Check | undefined {
  const ignoreEmpty = ruleValue<boolean>(rules, "ignoreEmpty") === true;
  const constant = ruleValue<Ordered>(rules, "const");
  const range = compileRange<Ordered>(family, {
    lt: ruleValue(rules, "lt"),
    lte: ruleValue(rules, "lte"),
    gt: ruleValue(rules, "gt"),
    gte: ruleValue(rules, "gte"),
  }, String);
  const allowed = ruleList<Ordered>(rules, "in");
  const denied = ruleList<Ordered>(rules, "notIn");
  const allowedSet = allowed && new Set(allowed);
  const deniedSet = denied && new Set(denied);
  if (constant === undefined && !range && !allowedSet && !deniedSet) return undefined;

  return (raw, path, ctx) => {
    const value = raw as Ordered;
    if (ignoreEmpty && (value === 0 || value === 0n)) return;
    if (constant !== undefined && value !== constant) {
      report(ctx, path, `${family}.const`, `value must equal ${String(constant)}, got ${show(value)}`);
    }
    const failure = range?.(value);
    if (failure) report(ctx, path, failure.rule, `${failure.message}, got ${show(value)}`);
    if (allowedSet && !allowedSet.has(value)) {
      report(ctx, path, `${family}.in`, `value must be in list ${show(allowed)}, got ${show(value)}`);
    }
    if (deniedSet?.has(value)) {
      report(ctx, path, `${family}.not_in`, `value must not be in list ${show(denied)}, got ${show(value)}`);
    }
  };
}

export function compileBool(rules: BoolRules): Check | undefined {
  const constant = ruleValue<boolean>(rules, "const");
  if (constant === undefined) return undefined;
  return (value, path, ctx) => {
    if (value !== constant) report(ctx, path, "bool.const", `value must equal ${constant}, got ${show(value)}`);
  };
}

/** Enum rules; `defined_only` rejects numbers the enum does not declare (proto3 enums are open). */
export function compileEnum(rules: EnumRules, desc: DescEnum | undefined): Check | undefined {
  const constant = ruleValue<number>(rules, "const");
  const definedOnly = ruleValue<boolean>(rules, "definedOnly") === true && desc !== undefined;
  const defined = definedOnly ? new Set(desc.values.map((v) => v.number)) : undefined;
  const allowed = ruleList<number>(rules, "in");
  const denied = ruleList<number>(rules, "notIn");
  const allowedSet = allowed && new Set(allowed);
  const deniedSet = denied && new Set(denied);
  if (constant === undefined && !defined && !allowedSet && !deniedSet) return undefined;
  const name = (n: number) => {
    const v = desc?.values.find((e) => e.number === n);
    return v ? `${v.name} (${n})` : String(n);
  };

  return (raw, path, ctx) => {
    const value = raw as number;
    if (constant !== undefined && value !== constant) {
      report(ctx, path, "enum.const", `value must equal ${name(constant)}, got ${name(value)}`);
    }
    if (defined && !defined.has(value)) {
      report(ctx, path, "enum.defined_only", `value must be one of the defined enum values of ${desc?.typeName}, got ${value}`);
    }
    if (allowedSet && !allowedSet.has(value)) {
      report(ctx, path, "enum.in", `value must be in list [${allowed.map(name).join(", ")}], got ${name(value)}`);
    }
    if (denied && deniedSet?.has(value)) {
      report(ctx, path, "enum.not_in", `value must not be in list [${denied.map(name).join(", ")}], got ${name(value)}`);
    }
  };
}
