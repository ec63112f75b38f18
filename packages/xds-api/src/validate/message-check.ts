import type { DescMessage } from "@bufbuild/protobuf";
import { isWrapperDesc, type Any, type Duration } from "@bufbuild/protobuf/wkt";
import { unpackAny } from "../any.js";
import type { AnyRules, FieldRules } from "../gen/validate/validate_pb.js";
import { findMessage } from "../registry.js";
import { show } from "./format.js";
import { ANY, DURATION, TIMESTAMP, hasChecks, isDisabled } from "./reach.js";
import { ruleList, ruleValue } from "./rule-fields.js";
import { checkEnvoyDuration, compileDuration, compileTimestamp } from "./time-rules.js";
import { report, type Check, type Context } from "./types.js";

/** Compiles the scalar rule families (numbers, bool, string, bytes, enum); injected to keep this module free of them. */
export type ScalarCompiler = (rules: FieldRules) => Check | undefined;

function compileAny(rules: AnyRules): Check | undefined {
  const allowed = ruleList<string>(rules, "in");
  const denied = ruleList<string>(rules, "notIn");
  if (!allowed && !denied) return undefined;
  return (value, path, ctx) => {
    const url = (value as Any).typeUrl;
    if (allowed && !allowed.includes(url)) report(ctx, path, "any.in", `type URL must be in list ${show(allowed)}, got ${show(url)}`);
    if (denied?.includes(url)) report(ctx, path, "any.not_in", `type URL must not be in list ${show(denied)}, got ${show(url)}`);
  };
}

/**
 * Validates the message inside an Any (how a `typed_config` gets checked).
 * Unknown types are left to the factory lookup unless `rejectUnknownAny`.
 */
function descendAny(any: Any, path: string, ctx: Context): void {
  const schema = any.typeUrl === "" ? undefined : findMessage(any.typeUrl);
  if (!schema) {
    if (ctx.options.rejectUnknownAny) {
      report(ctx, path, "any.known", `type URL must name a message Weft knows, got ${show(any.typeUrl)}`);
    }
    return;
  }
  let inner;
  try {
    inner = unpackAny(any, schema);
  } catch (cause) {
    report(ctx, path, "any.decode", (cause as Error).message);
    return;
  }
  ctx.walk(schema, inner, path);
}

/** The rule demanding presence (`message.required`, `duration.required`…), if any. */
function requiredRule(rules: FieldRules | undefined): string | undefined {
  if (!rules) return undefined;
  if (rules.message?.required) return "message.required";
  const t = rules.type;
  if ((t.case === "any" || t.case === "duration" || t.case === "timestamp") && ruleValue<boolean>(t.value, "required") === true) {
    return `${t.case}.required`;
  }
  return undefined;
}

/**
 * The check for one message-typed value (a singular field, a list item, a map
 * value): presence (`required`), wrapper rules on the wrapped scalar, Duration,
 * Timestamp and Any rules, then descent into the message when it can hold checks.
 */
export function compileMessageValue(desc: DescMessage, rules: FieldRules | undefined, scalar: ScalarCompiler): Check | undefined {
  const required = requiredRule(rules);
  const skip = rules?.message?.skip === true;
  const steps: Check[] = [];
  if (isWrapperDesc(desc)) {
    // protobuf-es unwraps singular wrapper fields to `number | string | …`;
    // PGV applies the scalar rules to the wrapped value when it is present.
    const wrapped = rules && scalar(rules);
    if (wrapped) {
      steps.push((v, path, ctx) => wrapped(typeof v === "object" && v !== null ? (v as { value: unknown }).value : v, path, ctx));
    }
  } else if (desc.typeName === DURATION) {
    steps.push((v, path, ctx) => checkEnvoyDuration(v as Duration, path, ctx));
    if (rules?.type.case === "duration") steps.push(compileDuration(rules.type.value));
  } else if (desc.typeName === TIMESTAMP) {
    if (rules?.type.case === "timestamp") steps.push(compileTimestamp(rules.type.value));
  } else if (desc.typeName === ANY) {
    const anyRules = rules?.type.case === "any" ? compileAny(rules.type.value) : undefined;
    if (anyRules) steps.push(anyRules);
    if (!skip) steps.push((v, path, ctx) => descendAny(v as Any, path, ctx));
  } else if (!skip && !isDisabled(desc) && hasChecks(desc)) {
    steps.push((v, path, ctx) => ctx.walk(desc, v as object, path));
  }
  if (!required && steps.length === 0) return undefined;
  return (value, path, ctx) => {
    if (value === undefined || value === null) {
      if (required) report(ctx, path, required, "value is required");
      return;
    }
    for (const step of steps) step(value, path, ctx);
  };
}
