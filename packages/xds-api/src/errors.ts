/** Why an xDS-API operation failed; stable enough to switch on. */
export type XdsErrorCode =
  | "unknown_type"
  | "invalid_json"
  | "invalid_yaml"
  | "invalid_any"
  | "validation"
  | "protocol";

/** The one error class of @weft/xds-api: a code, a message naming the value at fault, an optional field path. */
export class XdsError extends Error {
  override readonly name = "XdsError";

  constructor(
    readonly code: XdsErrorCode,
    message: string,
    readonly path?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static from(reason: unknown, code: XdsErrorCode = "invalid_json"): XdsError {
    if (reason instanceof XdsError) return reason;
    const message = reason instanceof Error ? reason.message : String(reason);
    return new XdsError(code, message, undefined, { cause: reason });
  }
}
