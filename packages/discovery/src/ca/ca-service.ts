// istio.v1.auth.IstioCertificateService, wire-compatible with istiod's
// (security/pkg/server/ca/server.go CreateCertificate): authenticate, sign the CSR for the
// caller's identity, answer cert_chain = [leaf, intermediates…, root].
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import { IstioCertificateService } from "@weft/xds-api/gen/istio/v1/auth/ca_pb.js";
import { AuthenticationError, type Authenticator } from "./authenticator.js";
import { CaError } from "./ca-error.js";
import type { CertificateAuthority } from "./certificate-authority.js";

export interface CaServiceOptions {
  ca: CertificateAuthority;
  /** Tried in order; the first that accepts the caller wins (istiod: JWT, then client cert). */
  authenticators: Authenticator[];
  logger: Logger;
}

export function createCaService(o: CaServiceOptions): ServiceImpl<typeof IstioCertificateService> {
  const authenticate = async (headers: Headers) => {
    let first: AuthenticationError | undefined;
    for (const a of o.authenticators) {
      try {
        return await a.authenticate(headers);
      } catch (error) {
        if (!(error instanceof AuthenticationError)) throw error;
        first ??= error;
      }
    }
    throw first ?? new AuthenticationError("authentication failed", "no authenticator configured");
  };

  return {
    async createCertificate(req, ctx) {
      let caller;
      try {
        caller = await authenticate(ctx.requestHeader);
      } catch (error) {
        if (error instanceof AuthenticationError) {
          o.logger.info({ reason: error.reason }, "CreateCertificate rejected: unauthenticated");
          throw new ConnectError(error.message, Code.Unauthenticated);
        }
        o.logger.error({ err: error }, "authenticator failed");
        throw new ConnectError("authentication is unavailable", Code.Unavailable);
      }
      // validity_duration is in seconds (istio.v1.auth.IstioCertificateRequest).
      const seconds = req.validityDuration;
      const ttlMs = seconds > 0n ? Number(seconds > 10n ** 12n ? 10n ** 12n : seconds) * 1000 : undefined;
      try {
        const certChain = await o.ca.issueWorkloadCertificate(caller, { csr: req.csr, ...(ttlMs ? { ttlMs } : {}) });
        o.logger.debug({ namespace: caller.namespace, serviceAccount: caller.serviceAccount, via: caller.authenticator }, "certificate issued");
        return { certChain };
      } catch (error) {
        if (error instanceof CaError && (error.code === "INVALID_CSR" || error.code === "INVALID_IDENTITY")) throw new ConnectError(error.message, Code.InvalidArgument);
        o.logger.error({ err: error }, "signing failed");
        throw new ConnectError("failed to sign the certificate", Code.Internal);
      }
    },
  };
}
