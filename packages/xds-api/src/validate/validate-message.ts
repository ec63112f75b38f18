import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { XdsError } from "../errors.js";
import { compileMessageValue } from "./message-check.js";
import { planOf } from "./plan.js";
import { fieldPath } from "./format.js";
import { report, type Check, type Context, type ValidateOptions, type ValidationIssue } from "./types.js";

const roots = new WeakMap<DescMessage, Check | null>();

/** The check for a message at the root: the same as for a field of its type without rules (so a root Any or Duration is checked too). */
function rootCheck(schema: DescMessage): Check | undefined {
  let check = roots.get(schema);
  if (check === undefined) {
    check = compileMessageValue(schema, undefined, () => undefined) ?? null;
    roots.set(schema, check);
  }
  return check ?? undefined;
}

function walk(this: Context, desc: DescMessage, message: object, path: string): void {
  const plan = planOf(desc);
  const fields = message as Record<string, unknown>;
  for (const oneof of plan.requiredOneofs) {
    const selected = fields[oneof.localName] as { case?: string } | undefined;
    if (selected?.case === undefined) {
      report(this, fieldPath(path, oneof.name), "oneof.required", `exactly one field of oneof ${oneof.name} is required, got none`);
    }
  }
  for (const run of plan.fields) {
    if (this.full()) return;
    run(fields, path, this);
  }
}

/**
 * Validates a message against the protoc-gen-validate `(validate.rules)` read
 * from its descriptors, as Envoy does before accepting any config, plus
 * Envoy's own check that every Duration is non-negative. Nested messages,
 * list items, map values and the message inside every `Any` (typed_config…)
 * are validated too. Returns every issue found (empty when valid).
 */
export function validateMessage<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>, options: ValidateOptions = {}): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const max = options.maxIssues ?? Number.POSITIVE_INFINITY;
  let now: bigint | undefined;
  const ctx: Context = {
    issues,
    options,
    walk,
    full: () => issues.length >= max,
    nowNanos: () => (now ??= BigInt((options.now ?? new Date()).getTime()) * 1_000_000n),
  };
  rootCheck(schema)?.(message, "", ctx);
  return issues;
}

/** Throws `XdsError("validation")` naming the first issue's path and message (and how many more there are). */
export function assertValid<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>, options: ValidateOptions = {}): void {
  const issues = validateMessage(schema, message, options);
  if (issues.length === 0) return;
  const [first] = issues;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more issue${issues.length > 2 ? "s" : ""})` : "";
  const where = first.path === "" ? schema.typeName : first.path;
  throw new XdsError("validation", `${where}: ${first.message}${more}`, first.path);
}
