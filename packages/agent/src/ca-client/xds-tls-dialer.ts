// The XDS proxy's upstream to discovery over TLS (istiod's 15012): the server certificate
// verified against the mesh root file, the pod's token as `authorization: Bearer` on every
// stream — Istio's pilot-agent XDS proxy with XDS_AUTH. Both files are re-read when a
// stream is opened, so a renewed root or a rotated projected token is picked up on the
// next reconnect.
import { readFileSync } from "node:fs";
import { createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AggregatedDiscoveryService } from "@weft/xds-api/gen/envoy/service/discovery/v3/ads_pb.js";
import { AgentError } from "../errors.js";
import type { UpstreamDialer } from "../xds-proxy/upstream.js";
import { caUrl } from "./ca-client.js";

export interface TlsDialerOptions {
  /** host:port of discovery's TLS port, e.g. istiod.istio-system.svc:15012. */
  address: string;
  rootCertPath: string;
  tokenPath: string;
  /** Name checked in discovery's certificate when it differs from the address's host. */
  servername?: string;
}

function readOrFail(path: string, what: string): string {
  try {
    const text = readFileSync(path, "utf8").trim();
    if (text) return text;
  } catch (error) {
    throw new AgentError("invalid_env", `${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  throw new AgentError("invalid_env", `${what} ${path} is empty`);
}

export function createTlsDialer(o: TlsDialerOptions): UpstreamDialer {
  const url = caUrl(o.address);
  let transport: Transport | undefined;
  let rootUsed = "";
  return {
    address: o.address,
    client() {
      const root = readOrFail(o.rootCertPath, "mesh root certificate");
      if (!transport || root !== rootUsed) {
        rootUsed = root;
        transport = createGrpcTransport({
          baseUrl: url.toString(),
          idleConnectionTimeoutMs: 60_000,
          nodeOptions: { ca: root, ...(o.servername ? { servername: o.servername } : {}) },
        });
      }
      return createClient(AggregatedDiscoveryService, transport);
    },
    headers: () => ({ authorization: `Bearer ${readOrFail(o.tokenPath, "XDS token file")}` }),
  };
}
