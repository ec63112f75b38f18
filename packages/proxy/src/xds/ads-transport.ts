import { connect as netConnect } from "node:net";
import { createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AggregatedDiscoveryService } from "@weft/xds-api/gen/envoy/service/discovery/v3/ads_pb";
import type { AdsTarget } from "./ads-target.js";

/**
 * gRPC over HTTP/2 cleartext to the ADS server. For a Unix socket the HTTP/2
 * session is opened over `net.connect(path)` (http2's createConnection); the
 * authority is then only a header.
 */
export function createAdsTransport(address: AdsTarget["address"]): Transport {
  if (address.kind === "unix") {
    const path = address.path;
    return createGrpcTransport({
      baseUrl: "http://localhost",
      nodeOptions: { createConnection: () => netConnect(path) },
      pingIntervalMs: 30_000,
    });
  }
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return createGrpcTransport({ baseUrl: `http://${host}:${address.port}`, pingIntervalMs: 30_000 });
}

export function createAdsStub(transport: Transport) {
  return createClient(AggregatedDiscoveryService, transport);
}
