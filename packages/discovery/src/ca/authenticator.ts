// Who is calling the CA. The identity a certificate carries comes only from here, never from
// the CSR (Istio: security/pkg/server/ca/authenticate). Two implementations: Kubernetes
// service-account tokens checked by TokenReview, and local per-workload credentials.
import type { WorkloadIdentity } from "./spiffe-id.js";

export interface AuthenticatedCaller extends WorkloadIdentity {
  /** Which authenticator vouched for the caller (for logs). */
  authenticator: string;
}

/**
 * Thrown for every authentication failure. `message` goes back to the caller and so must not
 * say whether a token exists or whom it belongs to; `reason` is for our logs only.
 */
export class AuthenticationError extends Error {
  override readonly name = "AuthenticationError";
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

export interface Authenticator {
  readonly name: string;
  /** Resolves the caller from the request headers or throws AuthenticationError. */
  authenticate(headers: Headers): Promise<AuthenticatedCaller>;
}

/** The bearer token of `authorization: Bearer <token>`, as the Istio agent sends it. */
export function bearerToken(headers: Headers): string {
  const value = headers.get("authorization");
  if (!value) throw new AuthenticationError("no credential: send the workload token as 'authorization: Bearer <token>'", "no authorization header");
  const m = /^Bearer[ \t]+([^\s]+)\s*$/i.exec(value);
  if (!m) throw new AuthenticationError("malformed authorization header: expected 'Bearer <token>'", "authorization header is not a bearer token");
  return m[1]!;
}
