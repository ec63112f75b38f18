import type { Logger } from "pino";
import type { ServiceImpl } from "@connectrpc/connect";
import { AggregatedDiscoveryService } from "@weft/xds-api/gen/envoy/service/discovery/v3/ads_pb";
import { TypeUrl } from "@weft/xds-api/type-urls";
import { createBackoff, type Backoff } from "./backoff.js";
import { relayDelta } from "./delta-relay.js";
import { relaySotw } from "./sotw-relay.js";
import type { RelayEvents } from "./relay-events.js";
import { listenUnixGrpc, type UnixGrpcServer } from "./unix-grpc-server.js";
import type { UpstreamDialer } from "./upstream.js";

export interface XdsProxyOptions {
  socketPath: string;
  dialer: UpstreamDialer;
  log: Logger;
  backoff?: () => Backoff;
}

export interface XdsProxyStatus {
  /** True once the proxy ACKed both a CDS and an LDS response (its first full config). */
  hasFirstConfig: boolean;
  upstreamConnected: boolean;
  downstreamStreams: number;
  acks: number;
  nacks: number;
  lastNack?: { typeUrl: string; message: string };
}

export interface XdsProxy {
  readonly socketPath: string;
  status(): XdsProxyStatus;
  /** A new proxy process starts unconfigured: readiness waits for its own CDS and LDS ACKs again. */
  resetFirstConfig(): void;
  close(): Promise<void>;
}

/** Serves ADS (SotW and delta) on the XDS Unix socket and relays each stream to discovery. */
export async function createXdsProxy(o: XdsProxyOptions): Promise<XdsProxy> {
  const acked = new Set<string>();
  const st: XdsProxyStatus = { hasFirstConfig: false, upstreamConnected: false, downstreamStreams: 0, acks: 0, nacks: 0 };
  let connectedStreams = 0;
  const events: RelayEvents = {
    ack(typeUrl) {
      st.acks++;
      acked.add(typeUrl);
      if (!st.hasFirstConfig && acked.has(TypeUrl.Cluster) && acked.has(TypeUrl.Listener)) {
        st.hasFirstConfig = true;
        o.log.info("proxy received its first config");
      }
    },
    nack(typeUrl, message) {
      st.nacks++;
      st.lastNack = { typeUrl, message };
      o.log.warn({ typeUrl, message }, "proxy rejected config (NACK)");
    },
    upstreamConnected(c) {
      connectedStreams += c ? 1 : -1;
      st.upstreamConnected = connectedStreams > 0;
    },
  };
  const backoff = o.backoff ?? (() => createBackoff());
  const headers = () => o.dialer.headers();

  const impl: ServiceImpl<typeof AggregatedDiscoveryService> = {
    async *streamAggregatedResources(requests, ctx) {
      st.downstreamStreams++;
      const log = o.log.child({ stream: "sotw" });
      log.info("proxy opened an ADS stream");
      try {
        yield* relaySotw(
          requests,
          { open: (reqs, signal) => o.dialer.client().streamAggregatedResources(reqs, { signal, headers: headers() }), backoff: backoff(), log, events },
          ctx.signal,
        );
      } finally {
        st.downstreamStreams--;
        log.info("proxy ADS stream ended");
      }
    },
    async *deltaAggregatedResources(requests, ctx) {
      st.downstreamStreams++;
      const log = o.log.child({ stream: "delta" });
      log.info("proxy opened a delta ADS stream");
      try {
        yield* relayDelta(
          requests,
          { open: (reqs, signal) => o.dialer.client().deltaAggregatedResources(reqs, { signal, headers: headers() }), backoff: backoff(), log, events },
          ctx.signal,
        );
      } finally {
        st.downstreamStreams--;
        log.info("proxy delta ADS stream ended");
      }
    },
  };

  const server: UnixGrpcServer = await listenUnixGrpc(o.socketPath, (router) => router.service(AggregatedDiscoveryService, impl));
  o.log.info({ socket: o.socketPath, discovery: o.dialer.address }, "XDS proxy listening");
  return {
    socketPath: o.socketPath,
    status: () => ({ ...st, upstreamConnected: connectedStreams > 0 }),
    resetFirstConfig() {
      st.hasFirstConfig = false;
      acked.clear();
    },
    close: () => server.close(),
  };
}
