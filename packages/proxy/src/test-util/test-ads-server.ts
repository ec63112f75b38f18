import { createServer, type Http2Server, type ServerHttp2Session } from "node:http2";
import { rmSync } from "node:fs";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import {
  createDeltaServerStream,
  createSotwServerStream,
  packAny,
  type AdsServerEvent,
  type ResourceSnapshot,
  type VersionedResource,
} from "@weft/xds-api";
import { AggregatedDiscoveryService } from "@weft/xds-api/gen/envoy/service/discovery/v3/ads_pb";
import type { DeltaDiscoveryRequest, DiscoveryRequest } from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb";
import { RequestQueue } from "../xds/request-queue.js";

interface Stream {
  push(typeUrl: string): void;
}

/**
 * A small ADS server for tests, built on connect-node and the xds-api server
 * state machines: it holds one snapshot per type, answers subscriptions and
 * pushes on every change, and records every request it got.
 */
export class TestAdsServer {
  readonly requests: DiscoveryRequest[] = [];
  readonly deltaRequests: DeltaDiscoveryRequest[] = [];
  readonly events: AdsServerEvent[] = [];
  private readonly snapshots = new Map<string, ResourceSnapshot>();
  private readonly streams = new Set<Stream>();
  private server: Http2Server | undefined;
  private sessions = new Set<ServerHttp2Session>();

  set<Desc extends DescMessage>(typeUrl: string, version: string, schema: Desc, messages: Array<MessageShape<Desc>>, nameOf: (m: MessageShape<Desc>) => string): void {
    const resources = new Map<string, VersionedResource>();
    for (const m of messages) {
      const name = nameOf(m);
      resources.set(name, { name, version, resource: packAny(schema, m) });
    }
    this.snapshots.set(typeUrl, { version, resources });
    for (const s of this.streams) s.push(typeUrl);
  }

  private routes = (router: ConnectRouter) => {
    const self = { requests: this.requests, deltaRequests: this.deltaRequests, events: this.events, snapshots: this.snapshots, streams: this.streams };
    router.service(AggregatedDiscoveryService, {
      streamAggregatedResources(requests) {
        const state = createSotwServerStream();
        const out = new RequestQueue<never>();
        const push = (typeUrl: string) => {
          const snap = self.snapshots.get(typeUrl);
          if (!snap) return;
          const resp = state.respond(typeUrl, snap);
          if (resp) out.push(resp as never);
        };
        const stream = { push };
        self.streams.add(stream);
        void (async () => {
          try {
            for await (const req of requests) {
              self.requests.push(req);
              const ev = state.receive(req);
              self.events.push(ev);
              if (ev.kind === "subscribe" || ((ev.kind === "ack" || ev.kind === "nack") && ev.subscriptionChanged)) push(req.typeUrl);
            }
          } catch {
            // client went away
          } finally {
            self.streams.delete(stream);
            out.end();
          }
        })();
        return out;
      },
      deltaAggregatedResources(requests) {
        const state = createDeltaServerStream();
        const out = new RequestQueue<never>();
        const push = (typeUrl: string) => {
          const snap = self.snapshots.get(typeUrl);
          if (!snap) return;
          const resp = state.respond(typeUrl, snap);
          if (resp) out.push(resp as never);
        };
        const stream = { push };
        self.streams.add(stream);
        void (async () => {
          try {
            for await (const req of requests) {
              self.deltaRequests.push(req);
              const ev = state.receive(req);
              self.events.push(ev);
              if (ev.kind === "subscribe" || ((ev.kind === "ack" || ev.kind === "nack") && ev.subscriptionChanged)) push(req.typeUrl);
            }
          } catch {
            // client went away
          } finally {
            self.streams.delete(stream);
            out.end();
          }
        })();
        return out;
      },
    });
  };

  /** Listens on a Unix socket path or a loopback TCP port (0 = any). */
  async listen(where: { path: string } | { port: number }): Promise<number | string> {
    const server = createServer(connectNodeAdapter({ routes: this.routes }));
    this.server = server;
    server.on("session", (session) => {
      this.sessions.add(session);
      session.on("close", () => this.sessions.delete(session));
    });
    if ("path" in where) {
      rmSync(where.path, { force: true });
      await new Promise<void>((resolve) => server.listen(where.path, resolve));
      return where.path;
    }
    await new Promise<void>((resolve) => server.listen(where.port, "127.0.0.1", resolve));
    const addr = server.address();
    return typeof addr === "object" && addr ? addr.port : where.port;
  }

  /** Stops the server and cuts every open stream (a control-plane outage). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Envoy-like outage: drop the HTTP/2 sessions, don't wait for the streams.
      for (const s of this.sessions) s.destroy();
    });
  }
}

