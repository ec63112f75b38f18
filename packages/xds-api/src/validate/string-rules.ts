import { KnownRegex, type BytesRules, type StringRules } from "../gen/validate/validate_pb.js";
import { show } from "./format.js";
import { compilePattern, matches } from "./pattern-cache.js";
import { ruleList, ruleValue } from "./rule-fields.js";
import { report, type Check } from "./types.js";
import {
  HEADER_LOOSE,
  HEADER_NAME_STRICT,
  HEADER_VALUE_STRICT,
  isAddress,
  isEmail,
  isHostname,
  isIp,
  isIpv4,
  isIpv6,
  isUri,
  isUriRef,
  isUuid,
} from "./well-known.js";

type Step = (value: string, path: string, ctx: Parameters<Check>[2]) => void;

/** Length in Unicode code points, which is what PGV's `len`/`min_len`/`max_len` count. */
function codePoints(value: string): number {
  let n = value.length;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) {
      const d = value.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

function lengthSteps(steps: Step[], rule: string, unit: string, measure: (v: string) => number, exact?: bigint, min?: bigint, max?: bigint): void {
  const [e, lo, hi] = [exact, min, max].map((b) => (b === undefined ? undefined : Number(b)));
  if (e !== undefined) {
    steps.push((v, path, ctx) => {
      const n = measure(v);
      if (n !== e) report(ctx, path, `${rule}.len${unit === "bytes" ? "_bytes" : ""}`, `value length must be ${e} ${unit}, got ${n} (${show(v)})`);
    });
  }
  if (lo !== undefined) {
    steps.push((v, path, ctx) => {
      const n = measure(v);
      if (n < lo) report(ctx, path, `${rule}.min_${unit === "bytes" ? "bytes" : "len"}`, `value length must be at least ${lo} ${unit}, got ${n} (${show(v)})`);
    });
  }
  if (hi !== undefined) {
    steps.push((v, path, ctx) => {
      const n = measure(v);
      if (n > hi) report(ctx, path, `${rule}.max_${unit === "bytes" ? "bytes" : "len"}`, `value length must be at most ${hi} ${unit}, got ${n} (${show(v)})`);
    });
  }
}

function patternStep(family: string, pattern: string): Step {
  // Compiled on the first value checked, not with the plan: a plan covers every field of a type,
  // and compiling loads re2-wasm (≈ 3–4 MB RSS) in a proxy whose config never sets those fields.
  let re: ReturnType<typeof compilePattern> | undefined;
  return (v, path, ctx) => {
    re ??= compilePattern(pattern);
    if (re instanceof Error) report(ctx, path, `${family}.pattern`, re.message);
    else if (!matches(re, v)) report(ctx, path, `${family}.pattern`, `value does not match regex pattern ${JSON.stringify(pattern)}, got ${show(v)}`);
  };
}

function formatStep(rule: string, test: (v: string) => boolean, what: string): Step {
  return (v, path, ctx) => {
    if (!test(v)) report(ctx, path, `string.${rule}`, `value must be a valid ${what}, got ${show(v)}`);
  };
}

function wellKnownStep(rules: StringRules): Step | undefined {
  const wk = rules.wellKnown;
  if (wk.case === undefined || wk.value === false) return undefined;
  switch (wk.case) {
    case "email": return formatStep("email", isEmail, "email address");
    case "hostname": return formatStep("hostname", isHostname, "hostname");
    case "ip": return formatStep("ip", isIp, "IP address");
    case "ipv4": return formatStep("ipv4", isIpv4, "IPv4 address");
    case "ipv6": return formatStep("ipv6", isIpv6, "IPv6 address");
    case "uri": return formatStep("uri", isUri, "absolute URI");
    case "uriRef": return formatStep("uri_ref", isUriRef, "URI reference");
    case "address": return formatStep("address", isAddress, "hostname or IP address");
    case "uuid": return formatStep("uuid", isUuid, "UUID");
    case "wellKnownRegex": {
      // `strict` defaults to true in validate.proto; protobuf-es applies proto2 defaults.
      const strict = rules.strict;
      if (wk.value === KnownRegex.HTTP_HEADER_NAME) {
        return formatStep("well_known_regex", strict ? HEADER_NAME_STRICT.test.bind(HEADER_NAME_STRICT) : HEADER_LOOSE.test.bind(HEADER_LOOSE), "HTTP header name");
      }
      if (wk.value === KnownRegex.HTTP_HEADER_VALUE) {
        return formatStep("well_known_regex", strict ? HEADER_VALUE_STRICT.test.bind(HEADER_VALUE_STRICT) : HEADER_LOOSE.test.bind(HEADER_LOOSE), "HTTP header value");
      }
      return undefined;
    }
  }
}

function finish(steps: Step[], ignoreEmpty: boolean): Check | undefined {
  if (steps.length === 0) return undefined;
  return (raw, path, ctx) => {
    const value = raw as string;
    if (ignoreEmpty && value === "") return;
    for (const step of steps) step(value, path, ctx);
  };
}

export function compileString(rules: StringRules): Check | undefined {
  const steps: Step[] = [];
  const constant = ruleValue<string>(rules, "const");
  if (constant !== undefined) {
    steps.push((v, path, ctx) => {
      if (v !== constant) report(ctx, path, "string.const", `value must equal ${JSON.stringify(constant)}, got ${show(v)}`);
    });
  }
  lengthSteps(steps, "string", "characters", codePoints, ruleValue(rules, "len"), ruleValue(rules, "minLen"), ruleValue(rules, "maxLen"));
  lengthSteps(steps, "string", "bytes", (v) => Buffer.byteLength(v, "utf8"), ruleValue(rules, "lenBytes"), ruleValue(rules, "minBytes"), ruleValue(rules, "maxBytes"));
  const pattern = ruleValue<string>(rules, "pattern");
  if (pattern !== undefined) steps.push(patternStep("string", pattern));
  const affix = (name: string, rule: string, ok: (v: string, a: string) => boolean, text: string) => {
    const a = ruleValue<string>(rules, name);
    if (a === undefined) return;
    steps.push((v, path, ctx) => {
      if (!ok(v, a)) report(ctx, path, `string.${rule}`, `value ${text} ${JSON.stringify(a)}, got ${show(v)}`);
    });
  };
  affix("prefix", "prefix", (v, a) => v.startsWith(a), "does not have prefix");
  affix("suffix", "suffix", (v, a) => v.endsWith(a), "does not have suffix");
  affix("contains", "contains", (v, a) => v.includes(a), "does not contain substring");
  affix("notContains", "not_contains", (v, a) => !v.includes(a), "contains substring");
  const allowed = ruleList<string>(rules, "in");
  if (allowed) {
    const set = new Set(allowed);
    steps.push((v, path, ctx) => {
      if (!set.has(v)) report(ctx, path, "string.in", `value must be in list ${show(allowed)}, got ${show(v)}`);
    });
  }
  const denied = ruleList<string>(rules, "notIn");
  if (denied) {
    const set = new Set(denied);
    steps.push((v, path, ctx) => {
      if (set.has(v)) report(ctx, path, "string.not_in", `value must not be in list ${show(denied)}, got ${show(v)}`);
    });
  }
  const wellKnown = wellKnownStep(rules);
  if (wellKnown) steps.push(wellKnown);
  return finish(steps, ruleValue<boolean>(rules, "ignoreEmpty") === true);
}

function sameBytes(a: Uint8Array, b: Uint8Array, at = 0): boolean {
  if (at + b.length > a.length) return false;
  for (let i = 0; i < b.length; i++) if (a[at + i] !== b[i]) return false;
  return true;
}

function indexOfBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i + b.length <= a.length; i++) if (sameBytes(a, b, i)) return i;
  return -1;
}

const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;
const utf8 = new TextDecoder();

type BytesStep = (value: Uint8Array, path: string, ctx: Parameters<Check>[2]) => void;

export function compileBytes(rules: BytesRules): Check | undefined {
  const steps: BytesStep[] = [];
  const fail = (rule: string, text: string): BytesStep => (v, path, ctx) => report(ctx, path, `bytes.${rule}`, `${text}, got ${hex(v)}`);
  const when = (test: (v: Uint8Array) => boolean, rule: string, text: string) => {
    const f = fail(rule, text);
    steps.push((v, path, ctx) => {
      if (!test(v)) f(v, path, ctx);
    });
  };
  const constant = ruleValue<Uint8Array>(rules, "const");
  if (constant !== undefined) when((v) => v.length === constant.length && sameBytes(v, constant), "const", `value must equal ${hex(constant)}`);
  const len = ruleValue<bigint>(rules, "len");
  if (len !== undefined) when((v) => v.length === Number(len), "len", `value length must be ${len} bytes`);
  const min = ruleValue<bigint>(rules, "minLen");
  if (min !== undefined) when((v) => v.length >= Number(min), "min_len", `value length must be at least ${min} bytes`);
  const max = ruleValue<bigint>(rules, "maxLen");
  if (max !== undefined) when((v) => v.length <= Number(max), "max_len", `value length must be at most ${max} bytes`);
  const pattern = ruleValue<string>(rules, "pattern");
  if (pattern !== undefined) {
    const step = patternStep("bytes", pattern);
    steps.push((v, path, ctx) => step(utf8.decode(v), path, ctx));
  }
  const prefix = ruleValue<Uint8Array>(rules, "prefix");
  if (prefix !== undefined) when((v) => sameBytes(v, prefix), "prefix", `value does not have prefix ${hex(prefix)}`);
  const suffix = ruleValue<Uint8Array>(rules, "suffix");
  if (suffix !== undefined) when((v) => sameBytes(v, suffix, v.length - suffix.length), "suffix", `value does not have suffix ${hex(suffix)}`);
  const contains = ruleValue<Uint8Array>(rules, "contains");
  if (contains !== undefined) when((v) => indexOfBytes(v, contains) >= 0, "contains", `value does not contain ${hex(contains)}`);
  const allowed = ruleList<Uint8Array>(rules, "in");
  if (allowed) when((v) => allowed.some((a) => a.length === v.length && sameBytes(v, a)), "in", `value must be in list [${allowed.map(hex).join(", ")}]`);
  const denied = ruleList<Uint8Array>(rules, "notIn");
  if (denied) when((v) => !denied.some((a) => a.length === v.length && sameBytes(v, a)), "not_in", `value must not be in list [${denied.map(hex).join(", ")}]`);
  const wk = rules.wellKnown;
  if (wk.case !== undefined && wk.value) {
    // Addresses in bytes fields are raw network-order octets.
    if (wk.case === "ip") when((v) => v.length === 4 || v.length === 16, "ip", "value must be a valid IP address (4 or 16 bytes)");
    if (wk.case === "ipv4") when((v) => v.length === 4, "ipv4", "value must be a valid IPv4 address (4 bytes)");
    if (wk.case === "ipv6") when((v) => v.length === 16, "ipv6", "value must be a valid IPv6 address (16 bytes)");
  }
  if (steps.length === 0) return undefined;
  const ignoreEmpty = ruleValue<boolean>(rules, "ignoreEmpty") === true;
  return (raw, path, ctx) => {
    const value = raw as Uint8Array;
    if (ignoreEmpty && value.length === 0) return;
    for (const step of steps) step(value, path, ctx);
  };
}
