import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AggregatedDiscoveryService } from "@weft/xds-api/gen/envoy/service/discovery/v3/ads_pb";
import { AgentError } from "../errors.js";

/**
 * How the XDS proxy reaches discovery. Plaintext gRPC today (discovery's 15010); the
 * security issue adds a TLS dialer for 15012 (istiod's CA root, the pod's token as
 * `authorization` metadata) behind this same interface.
 */
export interface UpstreamDialer {
  readonly address: string;
  client(): Client<typeof AggregatedDiscoveryService>;
  /** Headers to send on every stream (e.g. the pod's token once TLS lands). */
  headers(): Record<string, string>;
}

export function createPlaintextDialer(address: string): UpstreamDialer {
  if (!/^[^:]+:\d+$/.test(address) && !/^\[[^\]]+\]:\d+$/.test(address)) {
    throw new AgentError("invalid_env", `discoveryAddress "${address}" is not host:port`);
  }
  let transport: Transport | undefined;
  return {
    address,
    client() {
      transport ??= createGrpcTransport({ baseUrl: `http://${address}`, idleConnectionTimeoutMs: 60_000 });
      return createClient(AggregatedDiscoveryService, transport);
    },
    headers: () => ({}),
  };
}
