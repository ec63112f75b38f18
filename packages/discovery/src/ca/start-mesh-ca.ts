// Composition for the weft-discovery binary: the CA from --ca-dir, the local per-workload
// credentials file beside it, and the TLS server on --ca-addr.
import { join } from "node:path";
import type { ConnectRouter } from "@connectrpc/connect";
import type { Logger } from "pino";
import { createCaServer, type CaServer } from "./ca-server.js";
import { createCertificateAuthority, type CertificateAuthority } from "./certificate-authority.js";
import { createLocalAuthenticator } from "./local-authenticator.js";

export const WORKLOADS_FILE = "workloads.json";

export interface MeshCaOptions {
  caDir: string;
  caAddr: string;
  trustDomain: string;
  domain: string;
  /** Services served on the CA's TLS port too, behind the same authentication (ADS, as istiod's 15012). */
  extraRoutes?: (router: ConnectRouter) => void;
  logger: Logger;
}

export interface MeshCa {
  ca: CertificateAuthority;
  server: CaServer;
  close(): Promise<void>;
}

export async function startMeshCa(o: MeshCaOptions): Promise<MeshCa> {
  const logger = o.logger.child({ component: "ca" });
  const ca = await createCertificateAuthority({ caDir: o.caDir, trustDomain: o.trustDomain, logger });
  let server: CaServer;
  try {
    server = await createCaServer({
      ca,
      authenticators: [createLocalAuthenticator({ credentialsFile: join(o.caDir, WORKLOADS_FILE), logger })],
      addr: o.caAddr,
      domain: o.domain,
      ...(o.extraRoutes ? { extraRoutes: o.extraRoutes } : {}),
      logger,
    });
  } catch (error) {
    ca.close();
    throw error;
  }
  return {
    ca,
    server,
    async close() {
      await server.close();
      ca.close();
    },
  };
}
