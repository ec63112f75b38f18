import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import type { DurationRules, TimestampRules } from "../gen/validate/validate_pb.js";
import { showInstant, showNanos } from "./format.js";
import { compileRange } from "./range.js";
import { ruleList, ruleValue } from "./rule-fields.js";
import { report, type Check, type Context } from "./types.js";

const NANOS = 1_000_000_000n;

/** Seconds and nanos as one signed nanosecond count, so bounds compare exactly. */
export function totalNanos(d: { seconds: bigint; nanos: number }): bigint {
  return d.seconds * NANOS + BigInt(d.nanos);
}

// Envoy's own limit (MessageUtil::validateDurationFields, 10000 years): the
// largest duration protobuf's JSON mapping accepts.
const MAX_DURATION_SECONDS = 315_576_000_000n;

/**
 * The check Envoy runs on every Duration beyond PGV: negative durations and
 * out-of-range seconds/nanos are rejected wherever they appear.
 */
export function checkEnvoyDuration(d: Duration, path: string, ctx: Context): void {
  if (d.seconds < 0n || d.nanos < 0) {
    report(ctx, path, "envoy.duration", `duration must be non-negative, got ${showDuration(d)}`);
  } else if (d.seconds > MAX_DURATION_SECONDS || d.nanos > 999_999_999) {
    report(ctx, path, "envoy.duration", `duration out of range (at most ${MAX_DURATION_SECONDS}s, nanos below 1e9), got ${showDuration(d)}`);
  }
}

function showDuration(d: Duration): string {
  // Mixed signs or oversize nanos are not a canonical duration; show the parts.
  const mixed = (d.seconds < 0n && d.nanos > 0) || (d.seconds > 0n && d.nanos < 0) || d.nanos > 999_999_999 || d.nanos < -999_999_999;
  return mixed ? `{seconds: ${d.seconds}, nanos: ${d.nanos}}` : showNanos(totalNanos(d));
}

/** A set of time bounds over nanoseconds: const, ranges, in, not_in. */
function compileBounds(family: "duration" | "timestamp", rules: DurationRules | TimestampRules, show: (n: bigint) => string) {
  const at = (name: string) => {
    const v = ruleValue<Duration | Timestamp>(rules, name);
    return v === undefined ? undefined : totalNanos(v);
  };
  const constant = at("const");
  const range = compileRange<bigint>(family, { lt: at("lt"), lte: at("lte"), gt: at("gt"), gte: at("gte") }, show);
  const list = (name: string) => {
    const l = family === "duration" ? ruleList<Duration>(rules, name) : undefined;
    return l?.map(totalNanos);
  };
  const allowed = list("in");
  const denied = list("notIn");
  return (n: bigint, path: string, ctx: Context) => {
    if (constant !== undefined && n !== constant) report(ctx, path, `${family}.const`, `value must equal ${show(constant)}, got ${show(n)}`);
    const failure = range?.(n);
    if (failure) report(ctx, path, failure.rule, `${failure.message}, got ${show(n)}`);
    if (allowed && !allowed.includes(n)) report(ctx, path, `${family}.in`, `value must be in list [${allowed.map(show).join(", ")}], got ${show(n)}`);
    if (denied?.includes(n)) report(ctx, path, `${family}.not_in`, `value must not be in list [${denied.map(show).join(", ")}], got ${show(n)}`);
  };
}

export function compileDuration(rules: DurationRules): Check {
  const bounds = compileBounds("duration", rules, showNanos);
  return (value, path, ctx) => bounds(totalNanos(value as Duration), path, ctx);
}

export function compileTimestamp(rules: TimestampRules): Check {
  const bounds = compileBounds("timestamp", rules, showInstant);
  const ltNow = ruleValue<boolean>(rules, "ltNow") === true;
  const gtNow = ruleValue<boolean>(rules, "gtNow") === true;
  const withinRule = ruleValue<Duration>(rules, "within");
  const within = withinRule === undefined ? undefined : totalNanos(withinRule);
  const span = within === undefined ? "" : ` within ${showNanos(within)}`;

  return (value, path, ctx) => {
    const ts = totalNanos(value as Timestamp);
    bounds(ts, path, ctx);
    if (!ltNow && !gtNow && within === undefined) return;
    const now = ctx.nowNanos();
    const got = `, got ${showInstant(ts)} (now ${showInstant(now)})`;
    // protoc-gen-validate: lt_now/gt_now combined with `within` bound the
    // value on one side of now; `within` alone bounds it on both sides.
    if (ltNow) {
      if (ts >= now || (within !== undefined && ts < now - within)) report(ctx, path, "timestamp.lt_now", `value must be less than now${span}${got}`);
    } else if (gtNow) {
      if (ts <= now || (within !== undefined && ts > now + within)) report(ctx, path, "timestamp.gt_now", `value must be greater than now${span}${got}`);
    } else if (within !== undefined && (ts >= now + within || ts <= now - within)) {
      report(ctx, path, "timestamp.within", `value must be${span} of now${got}`);
    }
  };
}
