import { createGrpcChannel, type GrpcChannel } from "../grpc/grpc-channel.js";
import type { AdsTarget } from "./ads-target.js";

/**
 * gRPC over HTTP/2 cleartext to an xDS server (ADS, or SDS's own cluster).
 * For a Unix socket the HTTP/2 session is opened over `net.connect(path)`;
 * the authority is then only a header. Keepalive PING every 30 s.
 */
export function createAdsChannel(address: AdsTarget["address"]): GrpcChannel {
  return createGrpcChannel(address, { pingIntervalMs: 30_000 });
}
