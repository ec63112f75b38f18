// istio.v1.auth.IstioCertificateService/CreateCertificate over gRPC+TLS (CA_ADDR, 15012),
// as Istio's citadel client calls it: the CA's certificate is verified against the mesh
// root read from a file, the caller authenticates with `authorization: Bearer <token>`
// read from a file (Kubernetes: /var/run/secrets/tokens/istio-token; local mode: the
// per-workload credential weftctl writes). Both files are re-read on every call so a
// renewed root or projected token is picked up.
import { readFile } from "node:fs/promises";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { IstioCertificateService } from "@weft/xds-api/gen/istio/v1/auth/ca_pb.js";
import { AgentError } from "../errors.js";

export interface CaClientOptions {
  /** host:port or [v6]:port of the CA, e.g. istiod.istio-system.svc:15012 or 127.0.0.1:15012. */
  caAddr: string;
  /** PEM file of the root(s) the CA's certificate must chain to. */
  rootCertPath: string;
  /** File holding the bearer token. */
  tokenPath: string;
  /** Name to verify the CA's certificate against when it differs from CA_ADDR's host. */
  servername?: string;
  /** ISTIO_META_CERT_SIGNER: sent as request metadata `CertSigner`, as Istio's agent does (for CAs with several signers). */
  certSigner?: string;
  timeoutMs?: number;
}

export interface CaClient {
  /** Sends the CSR; resolves to Istio's cert_chain (leaf first, root last). */
  createCertificate(csrPem: string, ttlSeconds: number): Promise<string[]>;
}

/** Splits CA_ADDR into an https URL, rejecting what is not host:port. */
export function caUrl(caAddr: string): URL {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/\s]+):(\d{1,5})$/.exec(caAddr.replace(/^https?:\/\//, ""));
  if (!m || Number(m[2]) > 65535) throw new AgentError("invalid_env", `CA_ADDR ${JSON.stringify(caAddr)}: expected host:port, e.g. istiod.istio-system.svc:15012`);
  return new URL(`https://${m[1]}:${m[2]}`);
}

async function readRequired(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new AgentError("invalid_env", `${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!text.trim()) throw new AgentError("invalid_env", `${what} ${path} is empty`);
  return text;
}

/** Adds what to do to the TLS failures a misconfigured agent meets first. */
function explain(error: unknown, o: CaClientOptions): unknown {
  const msg = (error as Error)?.message ?? String(error);
  if (/altnames|Hostname\/IP does not match/i.test(msg)) {
    return new AgentError("certificate_unavailable", `CA ${o.caAddr}: ${msg} (set WEFT_CA_SERVERNAME to a name in the CA's certificate, e.g. istiod.istio-system.svc)`, { cause: error });
  }
  if (/self[- ]signed|unable to (verify|get local issuer)/i.test(msg)) {
    return new AgentError("certificate_unavailable", `CA ${o.caAddr}: ${msg} (the CA's certificate does not chain to ${o.rootCertPath}; point WEFT_CA_ROOT_CERT at the mesh root)`, { cause: error });
  }
  return error;
}

export function createCaClient(o: CaClientOptions): CaClient {
  const url = caUrl(o.caAddr);
  const timeoutMs = o.timeoutMs ?? 10_000;
  return {
    async createCertificate(csrPem, ttlSeconds) {
      const [ca, token] = await Promise.all([readRequired(o.rootCertPath, "mesh root certificate (WEFT_CA_ROOT_CERT)"), readRequired(o.tokenPath, "CA token file (WEFT_CA_TOKEN_FILE)")]);
      // One short-lived session per call: calls are hours apart, and a fresh session always
      // uses the current root file.
      const sessions = new Http2SessionManager(url, undefined, { ca, ...(o.servername ? { servername: o.servername } : {}) });
      const client = createClient(IstioCertificateService, createGrpcTransport({ baseUrl: url.toString(), sessionManager: sessions }));
      try {
        const res = await client.createCertificate(
          { csr: csrPem, validityDuration: BigInt(Math.max(0, Math.floor(ttlSeconds))), ...(o.certSigner ? { metadata: { CertSigner: o.certSigner } } : {}) },
          { headers: { authorization: `Bearer ${token.trim()}` }, timeoutMs },
        );
        if (res.certChain.length === 0) throw new ConnectError("CA answered with an empty cert_chain", Code.Internal);
        return res.certChain;
      } catch (error) {
        throw explain(error, o);
      } finally {
        sessions.abort();
      }
    },
  };
}
