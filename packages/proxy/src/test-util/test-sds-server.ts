// A small SDS server for tests (what the agent's SDS server is to a real
// sidecar, which the proxy may not import): SecretDiscoveryService
// StreamSecrets over a Unix socket, serving `default` and `ROOTCA` from
// PEMs, pushing on every change through the xds-api SotW server state machine.
import { createServer, type Http2Server, type ServerHttp2Session } from "node:http2";
import { rmSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createSotwServerStream, packAny, TypeUrl, type ResourceSnapshot, type VersionedResource } from "@weft/xds-api";
import { SecretSchema } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import type { DiscoveryRequest } from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb.js";
import { SecretDiscoveryService } from "@weft/xds-api/gen/envoy/service/secret/v3/sds_pb.js";
import { RequestQueue } from "../xds/request-queue.js";

export interface WorkloadSecrets {
  certPem: string;
  keyPem: string;
  rootPem: string;
}

const bytes = (s: string) => new TextEncoder().encode(s);

export class TestSdsServer {
  readonly requests: DiscoveryRequest[] = [];
  private snapshot: ResourceSnapshot | undefined;
  private readonly pushers = new Set<() => void>();
  private server: Http2Server | undefined;
  private readonly sessions = new Set<ServerHttp2Session>();

  /** Serves these secrets as `default` and `ROOTCA` from now on (pushed to open streams). */
  set(version: string, s: WorkloadSecrets): void {
    const resources = new Map<string, VersionedResource>();
    const cert = create(SecretSchema, {
      name: "default",
      type: { case: "tlsCertificate", value: { certificateChain: { specifier: { case: "inlineBytes", value: bytes(s.certPem) } }, privateKey: { specifier: { case: "inlineBytes", value: bytes(s.keyPem) } } } },
    });
    const root = create(SecretSchema, { name: "ROOTCA", type: { case: "validationContext", value: { trustedCa: { specifier: { case: "inlineBytes", value: bytes(s.rootPem) } } } } });
    resources.set("default", { name: "default", version, resource: packAny(SecretSchema, cert) });
    resources.set("ROOTCA", { name: "ROOTCA", version, resource: packAny(SecretSchema, root) });
    this.snapshot = { version, resources };
    for (const p of this.pushers) p();
  }

  private routes = (router: ConnectRouter) => {
    const self = { requests: this.requests, pushers: this.pushers, snapshot: () => this.snapshot };
    router.service(SecretDiscoveryService, {
      streamSecrets(requests) {
        const state = createSotwServerStream();
        const out = new RequestQueue<never>();
        const push = () => {
          const snap = self.snapshot();
          if (!snap) return;
          const resp = state.respond(TypeUrl.Secret, snap);
          if (resp) out.push(resp as never);
        };
        self.pushers.add(push);
        void (async () => {
          try {
            for await (const req of requests) {
              self.requests.push(req);
              const ev = state.receive(req);
              if (ev.kind === "subscribe" || ((ev.kind === "ack" || ev.kind === "nack") && ev.subscriptionChanged)) push();
            }
          } catch {
            // the proxy went away
          } finally {
            self.pushers.delete(push);
            out.end();
          }
        })();
        return out;
      },
    });
  };

  async listen(path: string): Promise<void> {
    const server = createServer(connectNodeAdapter({ routes: this.routes }));
    this.server = server;
    server.on("session", (s) => {
      this.sessions.add(s);
      s.on("close", () => this.sessions.delete(s));
    });
    rmSync(path, { force: true });
    await new Promise<void>((r) => server.listen(path, r));
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((r) => {
      server.close(() => r());
      for (const s of this.sessions) s.destroy();
    });
  }
}
