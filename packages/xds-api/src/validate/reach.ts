import { getOption, hasOption, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { disabled, required, rules } from "../gen/validate/validate_pb.js";

export const ANY = "google.protobuf.Any";
export const DURATION = "google.protobuf.Duration";
export const TIMESTAMP = "google.protobuf.Timestamp";

// `(validate.ignored) = 1072` on MessageOptions is newer than the pinned
// validate.proto, so it is not a generated extension; it survives as an
// unknown field of the message options and is read from there.
const IGNORED_FIELD_NO = 1072;

function ignoredOption(desc: DescMessage): boolean {
  const unknown = desc.proto.options?.$unknown;
  return unknown?.some((u) => u.no === IGNORED_FIELD_NO && u.data.some((b) => b !== 0)) ?? false;
}

/** `(validate.disabled)` / `(validate.ignored)`: no rule of the message, or of anything inside it, applies. */
export function isDisabled(desc: DescMessage): boolean {
  return getOption(desc, disabled) || ignoredOption(desc);
}

/** The message type a field holds (singular, list item or map value), if any. */
export function messageOf(field: DescField): DescMessage | undefined {
  switch (field.fieldKind) {
    case "message": return field.message;
    case "list": return field.listKind === "message" ? field.message : undefined;
    case "map": return field.mapKind === "message" ? field.message : undefined;
    default: return undefined;
  }
}

/** Whether the field's own annotation says not to descend (`message.skip`). */
export function skipsMessage(field: DescField): boolean {
  if (!hasOption(field, rules)) return false;
  const r = getOption(field, rules);
  if (r.message?.skip) return true;
  if (r.type.case === "repeated") return r.type.value.items?.message?.skip ?? false;
  if (r.type.case === "map") return r.type.value.values?.message?.skip ?? false;
  return false;
}

/** The message itself carries a check: a rule, a required oneof, or a Duration/Any field (checked unconditionally). */
function checkedHere(desc: DescMessage): boolean {
  for (const field of desc.fields) {
    if (hasOption(field, rules)) return true;
    const m = messageOf(field);
    if (m && (m.typeName === DURATION || m.typeName === ANY)) return true;
  }
  return desc.oneofs.some((o) => getOption(o, required));
}

const interesting = new WeakMap<DescMessage, boolean>();

/**
 * Whether validating a message of this type can find anything: it, or a type
 * reachable through its fields, carries a check. Computed once per type by a
 * walk over the type graph (cycles are fine: each type is visited once).
 */
export function hasChecks(root: DescMessage): boolean {
  const known = interesting.get(root);
  if (known !== undefined) return known;
  let found = false;
  const seen = new Set<DescMessage>([root]);
  const queue = [root];
  while (queue.length > 0 && !found) {
    const desc = queue.pop() as DescMessage;
    const memo = desc === root ? undefined : interesting.get(desc);
    if (memo === false) continue;
    if (memo === true || desc.typeName === ANY || desc.typeName === DURATION) {
      found = true;
      break;
    }
    if (isDisabled(desc)) continue;
    if (checkedHere(desc)) {
      found = true;
      break;
    }
    for (const field of desc.fields) {
      const m = messageOf(field);
      if (m && !seen.has(m) && !skipsMessage(field)) {
        seen.add(m);
        queue.push(m);
      }
    }
  }
  interesting.set(root, found);
  return found;
}
