import { createServer, type Http2Server, type Http2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { packAny } from "@weft/xds-api";
import { AggregatedDiscoveryService } from "@weft/xds-api/gen/envoy/service/discovery/v3/ads_pb";
import {
  DeltaDiscoveryResponseSchema,
  DiscoveryResponseSchema,
  type DeltaDiscoveryRequest,
  type DiscoveryRequest,
} from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb";
import type { Any } from "@bufbuild/protobuf/wkt";

interface Res {
  name: string;
  any: Any;
}

/**
 * A minimal in-process ADS server (SotW and delta) for agent tests: answers every
 * subscription with the resources set for its type, records every request, and can be
 * stopped and restarted on the same port to simulate discovery going away.
 */
export class FakeDiscovery {
  readonly sotwRequests: DiscoveryRequest[] = [];
  readonly deltaRequests: DeltaDiscoveryRequest[] = [];
  private readonly resources = new Map<string, { version: string; items: Res[] }>();
  private server?: Http2Server;
  private sessions = new Set<Http2Session>();
  private nonce = 0;
  port = 0;

  set<D extends DescMessage>(typeUrl: string, version: string, schema: D, items: Array<MessageShape<D> & { name: string }>): void {
    this.resources.set(typeUrl, { version, items: items.map((m) => ({ name: m.name, any: packAny(schema, m) })) });
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(port = this.port): Promise<void> {
    const impl: ServiceImpl<typeof AggregatedDiscoveryService> = {
      streamAggregatedResources: async function* (this: FakeDiscovery, reqs: AsyncIterable<DiscoveryRequest>) {
        for await (const req of reqs) {
          this.sotwRequests.push(req);
          if (req.responseNonce) continue; // ACK/NACK
          const r = this.resources.get(req.typeUrl);
          if (!r) continue;
          yield create(DiscoveryResponseSchema, { typeUrl: req.typeUrl, versionInfo: r.version, nonce: String(++this.nonce), resources: r.items.map((i) => i.any) });
        }
      }.bind(this),
      deltaAggregatedResources: async function* (this: FakeDiscovery, reqs: AsyncIterable<DeltaDiscoveryRequest>) {
        for await (const req of reqs) {
          this.deltaRequests.push(req);
          if (req.responseNonce) continue;
          const r = this.resources.get(req.typeUrl);
          if (!r) continue;
          const have = req.initialResourceVersions;
          const items = r.items.filter((i) => have[i.name] !== r.version);
          yield create(DeltaDiscoveryResponseSchema, {
            typeUrl: req.typeUrl,
            systemVersionInfo: r.version,
            nonce: String(++this.nonce),
            resources: items.map((i) => ({ name: i.name, version: r.version, resource: i.any })),
          });
        }
      }.bind(this),
    };
    const server = createServer(connectNodeAdapter({ routes: (router) => router.service(AggregatedDiscoveryService, impl) }));
    server.on("session", (s) => {
      this.sessions.add(s);
      s.on("close", () => this.sessions.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Drops every connection and stops listening, like a discovery crash. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of this.sessions) s.destroy();
    await new Promise((r) => server.close(r));
  }
}
