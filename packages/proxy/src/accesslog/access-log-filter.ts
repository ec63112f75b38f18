import type { AccessLogFilter, ComparisonFilter } from "@weft/xds-api/gen/envoy/config/accesslog/v3/accesslog_pb";
import { ComparisonFilter_Op } from "@weft/xds-api/gen/envoy/config/accesslog/v3/accesslog_pb";
import { FractionalPercent_DenominatorType } from "@weft/xds-api/gen/envoy/type/v3/percent_pb";
import type { StreamInfo } from "../contracts.js";
import { AccessLogFormatError } from "./command-operators.js";
import { isKnownResponseFlag } from "./response-flags.js";

export type LogPredicate = (info: StreamInfo) => boolean;

const always: LogPredicate = () => true;

function comparison(c: ComparisonFilter | undefined, path: string): (n: number) => boolean {
  const want = c?.value?.defaultValue ?? 0;
  // Runtime overrides (value.runtime_key) need a runtime layer we don't have; the default applies.
  switch (c?.op ?? ComparisonFilter_Op.EQ) {
    case ComparisonFilter_Op.EQ:
      return (n) => n === want;
    case ComparisonFilter_Op.GE:
      return (n) => n >= want;
    case ComparisonFilter_Op.LE:
      return (n) => n <= want;
    default:
      throw new AccessLogFormatError(`${path}.comparison.op: unknown operator ${String(c?.op)}`);
  }
}

const DENOMINATOR: Record<number, number> = {
  [FractionalPercent_DenominatorType.HUNDRED]: 100,
  [FractionalPercent_DenominatorType.TEN_THOUSAND]: 10_000,
  [FractionalPercent_DenominatorType.MILLION]: 1_000_000,
};

/**
 * Compiles an access-log filter (envoy.config.accesslog.v3.AccessLogFilter)
 * into a predicate. Filters we don't implement are reported once and let
 * every entry through, so no log line is lost silently.
 */
export function compileAccessLogFilter(
  filter: AccessLogFilter | undefined,
  path: string,
  reportUnsupported: (fieldPath: string, detail?: string) => void,
): LogPredicate {
  if (!filter) return always;
  const spec = filter.filterSpecifier;
  switch (spec.case) {
    case "statusCodeFilter": {
      const test = comparison(spec.value.comparison, `${path}.status_code_filter`);
      return (i) => test(i.responseCode ?? 0);
    }
    case "durationFilter": {
      const test = comparison(spec.value.comparison, `${path}.duration_filter`);
      return (i) => test(Math.round(i.durationMs ?? 0));
    }
    case "notHealthCheckFilter":
      return (i) => !i.healthCheck;
    case "responseFlagFilter": {
      const flags = spec.value.flags;
      flags.forEach((f, n) => {
        if (!isKnownResponseFlag(f)) throw new AccessLogFormatError(`${path}.response_flag_filter.flags[${n}]: unknown response flag '${f}'`);
      });
      // No flags listed: any response flag matches (Envoy's semantics).
      if (flags.length === 0) return (i) => i.responseFlags.length > 0;
      const wanted = new Set(flags);
      return (i) => i.responseFlags.some((f) => wanted.has(f));
    }
    case "runtimeFilter": {
      const pct = spec.value.percentSampled;
      const numerator = pct?.numerator ?? 0;
      const denominator = DENOMINATOR[pct?.denominator ?? FractionalPercent_DenominatorType.HUNDRED] ?? 100;
      if (spec.value.runtimeKey) reportUnsupported(`${path}.runtime_filter.runtime_key`, "no runtime layer: percent_sampled applies");
      return () => Math.random() * denominator < numerator;
    }
    case "andFilter": {
      const parts = spec.value.filters.map((f, n) => compileAccessLogFilter(f, `${path}.and_filter.filters[${n}]`, reportUnsupported));
      return (i) => parts.every((p) => p(i));
    }
    case "orFilter": {
      const parts = spec.value.filters.map((f, n) => compileAccessLogFilter(f, `${path}.or_filter.filters[${n}]`, reportUnsupported));
      return (i) => parts.some((p) => p(i));
    }
    case undefined:
      return always;
    default:
      reportUnsupported(`${path}.${snake(spec.case)}`, "access log filter not implemented: every entry is logged");
      return always;
  }
}

function snake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}
