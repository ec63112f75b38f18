// The lt/lte/gt/gte rules PGV shares between numbers, durations and
// timestamps. When both a lower and an upper bound are given and the upper is
// not above the lower, PGV reads them as an exclusive range: the value must lie
// *outside* it (e.g. `{gt: 10, lt: 5}` means "< 5 or > 10").

export type Ordered = number | bigint;

export interface Bounds<T extends Ordered> {
  lt?: T;
  lte?: T;
  gt?: T;
  gte?: T;
}

export interface RangeFailure {
  rule: string;
  message: string;
}

/** Compiles bounds into a test returning the failure for a value, or undefined when it passes. */
export function compileRange<T extends Ordered>(
  family: string,
  bounds: Bounds<T>,
  show: (v: T) => string,
): ((value: T) => RangeFailure | undefined) | undefined {
  const { lt, lte, gt, gte } = bounds;
  const upper = lt ?? lte;
  const lower = gt ?? gte;
  if (upper === undefined && lower === undefined) return undefined;
  const upperRule = `${family}.${lt !== undefined ? "lt" : "lte"}`;
  const lowerRule = `${family}.${gt !== undefined ? "gt" : "gte"}`;
  const belowUpper = (v: T) => (lt !== undefined ? v < lt : v <= (lte as T));
  const aboveLower = (v: T) => (gt !== undefined ? v > gt : v >= (gte as T));

  if (lower === undefined) {
    const message = lt !== undefined ? `value must be less than ${show(lt)}` : `value must be less than or equal to ${show(lte as T)}`;
    return (v) => (belowUpper(v) ? undefined : { rule: upperRule, message });
  }
  if (upper === undefined) {
    const message = gt !== undefined ? `value must be greater than ${show(gt)}` : `value must be greater than or equal to ${show(gte as T)}`;
    return (v) => (aboveLower(v) ? undefined : { rule: lowerRule, message });
  }
  const open = gt !== undefined ? "(" : "[";
  const close = lt !== undefined ? ")" : "]";
  const rule = `${lowerRule}_${upperRule.slice(family.length + 1)}`;
  if (upper > lower) {
    const message = `value must be inside range ${open}${show(lower)}, ${show(upper)}${close}`;
    return (v) => (aboveLower(v) && belowUpper(v) ? undefined : { rule, message });
  }
  // Exclusive range: the excluded interval runs from the upper bound to the
  // lower one, its ends excluded exactly where the bounds are inclusive.
  const exOpen = lt !== undefined ? "[" : "(";
  const exClose = gt !== undefined ? "]" : ")";
  const message = `value must be outside range ${exOpen}${show(upper)}, ${show(lower)}${exClose}`;
  return (v) => (aboveLower(v) || belowUpper(v) ? undefined : { rule, message });
}
