import type { DescMessage } from "@bufbuild/protobuf";

/** One violated rule: where (proto field names from the root), which rule, and why. */
export interface ValidationIssue {
  /** Envoy-style path: `static_resources.listeners[0].address.socket_address.port_value`. */
  path: string;
  /** The rule family and name as in validate.proto: `uint32.lte`, `message.required`, `oneof.required`. */
  rule: string;
  /** Names the value at fault: `value must be less than or equal to 65535, got 70000`. */
  message: string;
}

export interface ValidateOptions {
  /**
   * Report an `Any` whose type URL the registry does not know. Off by default:
   * Envoy reports unknown extensions when it looks up the factory, not during
   * proto validation.
   */
  rejectUnknownAny?: boolean;
  /** Stop after this many issues (default: collect all). */
  maxIssues?: number;
  /** The clock for timestamp `lt_now`/`gt_now`/`within` (default: the current time). */
  now?: Date;
}

/** Per-call state shared by every check. */
export interface Context {
  readonly issues: ValidationIssue[];
  readonly options: ValidateOptions;
  /** Validates a nested message; supplied by the walker so rule modules need not import it. */
  walk(desc: DescMessage, message: object, path: string): void;
  /** Current time in nanoseconds since the epoch, read once per call. */
  nowNanos(): bigint;
  /** True once `maxIssues` is reached. */
  full(): boolean;
}

/** A compiled check of one value (a field, a list item, a map key or value). */
export type Check = (value: unknown, path: string, ctx: Context) => void;

export function report(ctx: Context, path: string, rule: string, message: string): void {
  if (ctx.full()) return;
  ctx.issues.push({ path, rule, message });
}
