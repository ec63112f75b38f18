import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import { packAny } from "@weft/xds-api/pack-any";
import { TypeUrl } from "@weft/xds-api/type-urls";
import { SecretDiscoveryService } from "@weft/xds-api/gen/envoy/service/secret/v3/sds_pb";
import { SecretSchema, type Secret } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb";
import {
  DeltaDiscoveryResponseSchema,
  DiscoveryResponseSchema,
  type DeltaDiscoveryResponse,
  type DiscoveryResponse,
} from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb";
import { createAsyncQueue } from "../xds-proxy/async-queue.js";
import { listenUnixGrpc, type UnixGrpcServer } from "../xds-proxy/unix-grpc-server.js";
import type { CertificateProvider, WorkloadCertificate } from "./certificate-provider.js";

/** Istio's SDS resource names: the workload certificate and the mesh root. */
export const WORKLOAD_SECRET = "default";
export const ROOT_SECRET = "ROOTCA";

const bytes = (s: string) => new TextEncoder().encode(s);

/** Builds the Secret Envoy expects for a resource name, or undefined for names we don't serve. */
export function secretFor(name: string, cert: WorkloadCertificate): Secret | undefined {
  if (name === WORKLOAD_SECRET) {
    return create(SecretSchema, {
      name,
      type: {
        case: "tlsCertificate",
        value: { certificateChain: { specifier: { case: "inlineBytes", value: bytes(cert.certChain) } }, privateKey: { specifier: { case: "inlineBytes", value: bytes(cert.privateKey) } } },
      },
    });
  }
  if (name === ROOT_SECRET) {
    return create(SecretSchema, { name, type: { case: "validationContext", value: { trustedCa: { specifier: { case: "inlineBytes", value: bytes(cert.rootCert) } } } } });
  }
  return undefined;
}

function versionOf(name: string, cert: WorkloadCertificate): string {
  const h = createHash("sha256");
  if (name === ROOT_SECRET) h.update(cert.rootCert);
  else h.update(cert.certChain).update(cert.privateKey);
  return h.digest("hex").slice(0, 16);
}

export interface SdsServer {
  readonly socketPath: string;
  /** Number of secrets pushed so far (for metrics and tests). */
  pushes(): number;
  close(): Promise<void>;
}

/** envoy.service.secret.v3.SecretDiscoveryService (SotW and delta) on the SDS Unix socket. */
export async function createSdsServer(socketPath: string, provider: CertificateProvider, log: Logger): Promise<SdsServer> {
  let pushes = 0;
  let nonce = 0;

  const impl: ServiceImpl<typeof SecretDiscoveryService> = {
    fetchSecrets(req) {
      const cert = provider.current();
      if (!cert) throw new ConnectError("no workload certificate yet", Code.Unavailable);
      const secrets = req.resourceNames.map((n) => secretFor(n, cert)).filter((s): s is Secret => s !== undefined);
      return create(DiscoveryResponseSchema, {
        typeUrl: TypeUrl.Secret,
        versionInfo: req.resourceNames.map((n) => versionOf(n, cert)).join("."),
        nonce: String(++nonce),
        resources: secrets.map((s) => packAny(SecretSchema, s)),
      });
    },
    async *streamSecrets(requests, ctx) {
      const out = createAsyncQueue<DiscoveryResponse>();
      let names: string[] = [];
      let sent = "";
      const push = () => {
        const cert = provider.current();
        if (!cert || names.length === 0) return;
        const secrets = names.map((n) => secretFor(n, cert)).filter((s): s is Secret => s !== undefined);
        const version = names.map((n) => versionOf(n, cert)).join(".");
        if (version === sent || secrets.length === 0) return;
        sent = version;
        pushes++;
        out.push(create(DiscoveryResponseSchema, { typeUrl: TypeUrl.Secret, versionInfo: version, nonce: String(++nonce), resources: secrets.map((s) => packAny(SecretSchema, s)) }));
      };
      const off = provider.onChange(push);
      ctx.signal.addEventListener("abort", () => out.end());
      void (async () => {
        try {
          for await (const req of requests) {
            if (req.errorDetail) log.warn({ names: req.resourceNames, message: req.errorDetail.message }, "proxy rejected a secret");
            const unknown = req.resourceNames.filter((n) => n !== WORKLOAD_SECRET && n !== ROOT_SECRET);
            if (unknown.length > 0) log.warn({ unknown }, "SDS request for secrets this agent does not serve");
            if (req.resourceNames.join("\0") !== names.join("\0")) {
              names = [...req.resourceNames];
              sent = "";
            }
            push();
          }
        } catch {
          /* the proxy went away */
        }
        out.end();
      })();
      try {
        yield* out;
      } finally {
        off();
      }
    },
    async *deltaSecrets(requests, ctx) {
      const out = createAsyncQueue<DeltaDiscoveryResponse>();
      const names = new Set<string>();
      const sent = new Map<string, string>();
      const push = () => {
        const cert = provider.current();
        if (!cert) return;
        const changed = [...names].filter((n) => secretFor(n, cert) && sent.get(n) !== versionOf(n, cert));
        if (changed.length === 0) return;
        pushes++;
        out.push(
          create(DeltaDiscoveryResponseSchema, {
            typeUrl: TypeUrl.Secret,
            nonce: String(++nonce),
            resources: changed.map((n) => {
              sent.set(n, versionOf(n, cert));
              return { name: n, version: versionOf(n, cert), resource: packAny(SecretSchema, secretFor(n, cert)!) };
            }),
          }),
        );
      };
      const off = provider.onChange(push);
      ctx.signal.addEventListener("abort", () => out.end());
      void (async () => {
        try {
          for await (const req of requests) {
            for (const [n, v] of Object.entries(req.initialResourceVersions)) sent.set(n, v);
            for (const n of req.resourceNamesSubscribe) names.add(n);
            for (const n of req.resourceNamesUnsubscribe) {
              names.delete(n);
              sent.delete(n);
            }
            push();
          }
        } catch {
          /* the proxy went away */
        }
        out.end();
      })();
      try {
        yield* out;
      } finally {
        off();
      }
    },
  };

  const server: UnixGrpcServer = await listenUnixGrpc(socketPath, (router) => router.service(SecretDiscoveryService, impl));
  log.info({ socket: socketPath }, "SDS server listening");
  return { socketPath, pushes: () => pushes, close: () => server.close() };
}
