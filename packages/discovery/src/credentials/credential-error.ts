// The one error class of the credentials code. Messages name the Secret and
// the data key at fault and never carry key material: they end up in logs,
// /debug/configz and the errors Envoy would otherwise see.

export type CredentialErrorCode =
  /** No Secret of that name in the namespace. */
  | "NOT_FOUND"
  /** The Secret exists but has none of the keys Istio reads for this use. */
  | "MISSING_KEYS"
  /** A value that is not base64, not PEM, or a key that does not match its certificate. */
  | "INVALID"
  /** The proxy may not read it (unauthenticated stream, another namespace). */
  | "FORBIDDEN"
  /** A resource name that is not `kubernetes://[namespace/]name`. */
  | "BAD_NAME";

export class CredentialError extends Error {
  override readonly name = "CredentialError";
  constructor(
    readonly code: CredentialErrorCode,
    message: string,
  ) {
    super(message);
  }
}
