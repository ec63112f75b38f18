// A minimal SotW ADS server for tests that run a real proxy against a fixed set
// of resources (any type, SDS Secrets included), on xds-api's server stream
// state machine and connect-node. It records NACKs so a test can say why a
// proxy refused something.
import { createServer, type Http2Server, type ServerHttp2Session } from "node:http2";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createSotwServerStream, type ResourceSnapshot, type VersionedResource } from "@weft/xds-api";
import { AggregatedDiscoveryService } from "@weft/xds-api/gen/envoy/service/discovery/v3/ads_pb.js";
import type { DiscoveryResponse } from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb.js";
import { createAsyncQueue } from "../server/async-queue.js";

export interface StaticAdsServer {
  port: number;
  /** `type_url: error_detail` of every NACK received. */
  nacks: string[];
  close(): Promise<void>;
}

export async function startStaticAdsServer(resources: ReadonlyMap<string, readonly VersionedResource[]>): Promise<StaticAdsServer> {
  const snapshots = new Map<string, ResourceSnapshot>();
  for (const [typeUrl, list] of resources) snapshots.set(typeUrl, { version: "1", resources: new Map(list.map((r) => [r.name, r])) });
  const nacks: string[] = [];
  const routes = (router: ConnectRouter): void => {
    router.service(AggregatedDiscoveryService, {
      streamAggregatedResources(requests) {
        const state = createSotwServerStream();
        const out = createAsyncQueue<DiscoveryResponse>();
        void (async () => {
          try {
            for await (const req of requests) {
              const ev = state.receive(req);
              if (ev.kind === "nack") nacks.push(`${req.typeUrl}: ${req.errorDetail?.message ?? ""}`);
              if (ev.kind !== "subscribe" && !((ev.kind === "ack" || ev.kind === "nack") && ev.subscriptionChanged)) continue;
              const snap = snapshots.get(req.typeUrl) ?? { version: "1", resources: new Map() };
              const resp = state.respond(req.typeUrl, snap);
              if (resp) out.push(resp as DiscoveryResponse);
            }
          } catch {
            // the proxy went away
          } finally {
            out.end();
          }
        })();
        return out;
      },
      deltaAggregatedResources() {
        throw new Error("delta xDS is not served by the static test server");
      },
    });
  };
  const server: Http2Server = createServer(connectNodeAdapter({ routes }));
  const sessions = new Set<ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    nacks,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.destroy();
      }),
  };
}
