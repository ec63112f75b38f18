/** What went wrong in the CA; the gRPC service maps these to status codes. */
export type CaErrorCode =
  /** The CSR is not PEM PKCS#10, its signature is wrong, or its key is unsupported. */
  | "INVALID_CSR"
  /** CA files (ca-dir or cacerts) are unreadable, inconsistent or expired. */
  | "BAD_CA_MATERIAL"
  /** The caller's identity cannot be put in a SPIFFE URI (bad namespace / service account). */
  | "INVALID_IDENTITY";

export class CaError extends Error {
  override readonly name = "CaError";
  constructor(
    readonly code: CaErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
