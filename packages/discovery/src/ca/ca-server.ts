// The CA's gRPC+TLS endpoint (istiod's 15012). Its serving certificate is issued by the
// same CA for the names workloads dial (istiod.istio-system.svc and the domain variant,
// localhost), re-issued at half-life and whenever the root changes, and swapped in with
// setSecureContext so open connections are not dropped.
import http2 from "node:http2";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { IstioCertificateService } from "@weft/xds-api/gen/istio/v1/auth/ca_pb.js";
import { formatAddress, parseListenAddress } from "../app/listen-address.js";
import { VERIFIED_IDENTITY } from "../server/verified-identity.js";
import { AuthenticationError, type AuthenticatedCaller, type Authenticator } from "./authenticator.js";
import { createCaService } from "./ca-service.js";
import type { CertificateAuthority } from "./certificate-authority.js";
import { crypto } from "./pem.js";
import * as x509 from "./x509.js";
import type { CryptoKeyPair, EcdsaParams } from "./webcrypto-types.js";

export const DEFAULT_CA_ADDR = ":15012";

export interface CaServerOptions {
  ca: CertificateAuthority;
  authenticators: Authenticator[];
  /** host:port, :port or [v6]:port; default :15012. */
  addr?: string;
  /** Cluster DNS domain for the serving certificate's SANs (default cluster.local). */
  domain?: string;
  /** Extra DNS names / IPs for the serving certificate. */
  extraHosts?: string[];
  servingTtlMs?: number;
  /**
   * More services on the same TLS port (istiod serves XDS on 15012 too). Every call to them
   * must carry a credential the authenticators accept, like istiod's XDS authentication.
   */
  extraRoutes?: (router: ConnectRouter) => void;
  /**
   * Checks the first message of a streaming call to an extra service against the caller;
   * returns why they don't match (→ PERMISSION_DENIED) or undefined. istiod refuses an XDS
   * stream whose node namespace differs from the authenticated identity's.
   */
  streamIdentityCheck?: (caller: AuthenticatedCaller, firstMessage: unknown) => string | undefined;
  logger: Logger;
}

export interface CaServer {
  /** Bound address, host:port. */
  readonly address: string;
  readonly port: number;
  /** The current serving certificate chain, PEM. */
  servingCertPem(): string;
  close(): Promise<void>;
}

/** istiod's names for itself, plus loopback for local mode. */
export function servingHosts(domain: string, extra: string[] = []): string[] {
  return [...new Set(["istiod.istio-system.svc", `istiod.istio-system.svc.${domain}`, "istiod.istio-system", "istiod", "localhost", "127.0.0.1", "::1", ...extra])];
}

async function issueServing(ca: CertificateAuthority, hosts: string[], ttlMs: number) {
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const keyPem = x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY");
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams }, crypto);
  const chain = await ca.issueServingCertificate(csr.toString("pem"), hosts, ttlMs);
  const leaf = new x509.X509Certificate(chain[0]!);
  // The chain sent in the handshake: leaf + intermediates; clients already hold the root.
  return { certPem: chain.slice(0, -1).join(""), keyPem, notBefore: leaf.notBefore.getTime(), notAfter: leaf.notAfter.getTime() };
}

/**
 * Authenticates calls to the extra services (not CreateCertificate, which authenticates
 * itself to map the caller to an identity), and for streams checks the first message
 * against the caller with `check`.
 */
function requireCaller(authenticators: Authenticator[], log: Logger, check?: CaServerOptions["streamIdentityCheck"]): Interceptor {
  return (next) => async (req) => {
    if (req.service.typeName === IstioCertificateService.typeName) return next(req);
    let first: AuthenticationError | undefined;
    let caller: AuthenticatedCaller | undefined;
    for (const a of authenticators) {
      try {
        caller = await a.authenticate(req.header);
        break;
      } catch (error) {
        if (!(error instanceof AuthenticationError)) throw error;
        first ??= error;
      }
    }
    if (caller) {
      // The handler (ADS) learns who the stream is; only this interceptor sets it.
      req.contextValues.set(VERIFIED_IDENTITY, { namespace: caller.namespace, serviceAccount: caller.serviceAccount });
      if (!req.stream || !check) return next(req);
      const who = caller;
      const messages = req.message;
      const checked = (async function* () {
        let firstMessage = true;
        for await (const m of messages) {
          if (firstMessage) {
            firstMessage = false;
            const problem = check(who, m);
            if (problem) {
              log.info({ method: req.method.name, namespace: who.namespace, serviceAccount: who.serviceAccount, problem }, "stream rejected: identity mismatch");
              throw new ConnectError(problem, Code.PermissionDenied);
            }
          }
          yield m;
        }
      })();
      return next({ ...req, message: checked });
    }
    log.info({ method: req.method.name, reason: first?.reason ?? "no authenticator" }, "call rejected: unauthenticated");
    throw new ConnectError(first?.message ?? "authentication failed", Code.Unauthenticated);
  };
}

export async function createCaServer(o: CaServerOptions): Promise<CaServer> {
  const log = o.logger;
  const listen = parseListenAddress("--ca-addr", o.addr ?? DEFAULT_CA_ADDR);
  const hosts = servingHosts(o.domain ?? "cluster.local", o.extraHosts);
  const ttlMs = o.servingTtlMs ?? 24 * 3600_000;
  let serving = await issueServing(o.ca, hosts, ttlMs);

  const server = http2.createSecureServer(
    { cert: serving.certPem, key: serving.keyPem, allowHTTP1: false, minVersion: "TLSv1.2" },
    connectNodeAdapter({
      interceptors: [requireCaller(o.authenticators, log, o.streamIdentityCheck)],
      routes: (router) => {
        router.service(IstioCertificateService, createCaService({ ca: o.ca, authenticators: o.authenticators, logger: log }));
        o.extraRoutes?.(router);
      },
    }),
  );
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });

  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const renew = async (why: string) => {
    try {
      serving = await issueServing(o.ca, hosts, ttlMs);
      server.setSecureContext({ cert: serving.certPem, key: serving.keyPem });
      log.info({ why, notAfter: new Date(serving.notAfter).toISOString() }, "CA serving certificate renewed");
    } catch (error) {
      log.error({ err: error }, "renewing the CA serving certificate failed; retrying in 1 minute");
      schedule(60_000);
      return;
    }
    schedule();
  };
  const schedule = (delay = Math.max(1000, (serving.notAfter - serving.notBefore) / 2 - (Date.now() - serving.notBefore))) => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void renew("half-life"), Math.min(delay, 2 ** 31 - 1));
    timer.unref();
  };
  schedule();
  const offRoot = o.ca.onRootChange(() => void renew("root changed"));

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(new Error(`--ca-addr ${listen.host}:${listen.port}: cannot listen: ${error.code ?? error.message}`));
    server.once("error", onError);
    server.listen(listen.port, listen.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const bound = server.address() as { address: string; port: number };
  log.info({ address: formatAddress(bound) }, "CA serving IstioCertificateService over TLS");

  return {
    address: formatAddress(bound),
    port: bound.port,
    servingCertPem: () => serving.certPem,
    async close() {
      closed = true;
      clearTimeout(timer);
      offRoot();
      for (const s of sessions) s.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        setTimeout(() => {
          for (const s of sessions) s.destroy();
        }, 2000).unref();
      });
    },
  };
}
