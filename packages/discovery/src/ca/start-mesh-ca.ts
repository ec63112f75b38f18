// Composition for the weft-discovery binary: the CA from --ca-dir, the local per-workload
// credentials file beside it, and the TLS server on --ca-addr.
import { join } from "node:path";
import type { ConnectRouter } from "@connectrpc/connect";
import type { Logger } from "pino";
import { createCaServer, type CaServer } from "./ca-server.js";
import { createCertificateAuthority, type CertificateAuthority } from "./certificate-authority.js";
import type { Node } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb.js";
import { parseProxy } from "../push-context/parse-proxy.js";
import type { AuthenticatedCaller } from "./authenticator.js";
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
      ...(o.extraRoutes ? { extraRoutes: o.extraRoutes, streamIdentityCheck: (caller, m) => xdsNamespaceMismatch(caller, m, o.domain) } : {}),
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

/**
 * istiod's XDS identity check (pilot/pkg/xds/authentication.go): the proxy's namespace (node
 * metadata NAMESPACE, else the node id) must be the authenticated identity's namespace.
 */
export function xdsNamespaceMismatch(caller: AuthenticatedCaller, firstMessage: unknown, domain: string): string | undefined {
  const node = (firstMessage as { node?: Node } | undefined)?.node;
  if (!node?.id) return "the first request of an XDS stream must carry the node";
  let namespace: string;
  try {
    namespace = parseProxy(node, domain).namespace;
  } catch (error) {
    return (error as Error).message;
  }
  return namespace === caller.namespace ? undefined : `authenticated namespace ${caller.namespace} does not match proxy namespace ${namespace}`;
}
