// The list edits shared by filter, listener-filter and route patches, as
// istiod's insertBeforeFunc / insertAfterFunc / replaceFunc: each acts on the
// first element that matches only, and reports whether one did.
import type { JsonObject } from "@bufbuild/protobuf";
import { cloneJson } from "./merge.js";
import type { EnvoyFilterPatch } from "./types.js";

export function insertBefore(list: JsonObject[], match: (e: JsonObject) => boolean, value: JsonObject): boolean {
  const i = list.findIndex(match);
  if (i < 0) return false;
  list.splice(i, 0, cloneJson(value));
  return true;
}

export function insertAfter(list: JsonObject[], match: (e: JsonObject) => boolean, value: JsonObject): boolean {
  const i = list.findIndex(match);
  if (i < 0) return false;
  list.splice(i + 1, 0, cloneJson(value));
  return true;
}

export function replaceFirst(list: JsonObject[], match: (e: JsonObject) => boolean, value: JsonObject): boolean {
  const i = list.findIndex(match);
  if (i < 0) return false;
  list[i] = cloneJson(value);
  return true;
}

/**
 * ADD / INSERT_FIRST / INSERT_BEFORE / INSERT_AFTER / REPLACE / REMOVE on a
 * list of named filters, relative to the one named by `target` (undefined
 * when the patch names none: INSERT_BEFORE then means first, INSERT_AFTER
 * last, and REPLACE / REMOVE do nothing). Returns the new list.
 */
export function patchFilterList(list: JsonObject[], p: EnvoyFilterPatch, target: string | undefined): JsonObject[] {
  const value = p.value ?? {};
  const named = (f: JsonObject): boolean => f.name === target;
  switch (p.operation) {
    case "ADD":
      return [...list, cloneJson(value)];
    case "INSERT_FIRST":
      return [cloneJson(value), ...list];
    case "INSERT_BEFORE":
      if (target === undefined) return [cloneJson(value), ...list];
      insertBefore(list, named, value);
      return list;
    case "INSERT_AFTER":
      if (target === undefined) return [...list, cloneJson(value)];
      insertAfter(list, named, value);
      return list;
    case "REPLACE":
      if (target !== undefined) replaceFirst(list, named, value);
      return list;
    case "REMOVE":
      return target === undefined ? list : list.filter((f) => !named(f));
    default:
      return list;
  }
}
