import { isFieldSet, type DescMessage, type Message } from "@bufbuild/protobuf";
import { file_validate_validate } from "../gen/validate/validate_pb.js";

// validate.proto is proto2: a bound of 0 and an absent bound differ, so rule
// fields are read with explicit presence rather than by value.
const ruleSchemas = new Map<string, DescMessage>(file_validate_validate.messages.map((m) => [m.typeName, m]));

/** The value of a rule field when it is set, else undefined. */
export function ruleValue<T>(rules: Message, localName: string): T | undefined {
  const schema = ruleSchemas.get(rules.$typeName);
  const field = schema?.fields.find((f) => f.localName === localName);
  if (!field) return undefined;
  return isFieldSet(rules, field) ? ((rules as unknown as Record<string, T>)[localName]) : undefined;
}

/** A repeated rule field (`in`, `not_in`) or undefined when empty. */
export function ruleList<T>(rules: Message, localName: string): T[] | undefined {
  const list = (rules as unknown as Record<string, T[] | undefined>)[localName];
  return list && list.length > 0 ? list : undefined;
}
