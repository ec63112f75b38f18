// The ADS server: envoy.service.discovery.v3.AggregatedDiscoveryService, SotW
// and delta, as connect-node routes (gRPC protocol over h2c, so grpc-js and
// Envoy both connect). It keeps one AdsConnection per stream and asks the
// cache for snapshots; it never stores resources itself.
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { PUSH_ORDER, TypeUrl, createDeltaServerStream, createSotwServerStream, findMessage, type AdsServerEvent, type ResourceSnapshot } from "@weft/xds-api";
import { AggregatedDiscoveryService } from "@weft/xds-api/gen/envoy/service/discovery/v3/ads_pb.js";
import type { Node } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb.js";
import {
  DeltaDiscoveryRequestSchema,
  DeltaDiscoveryResponseSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb.js";
import type { Logger } from "pino";
import type { ProxyInfo, ProxyParser, VerifiedIdentity } from "../contracts.js";
import { affectedResourceNames } from "../credentials/secret-resource.js";
import type { ConfigCache } from "../cache/config-cache.js";
import type { PilotMetrics } from "../metrics/pilot-metrics.js";
import { createAdsConnection, type AdsConnection, type AdsMode, type ServerStreamState } from "./ads-connection.js";
import { serveDirect, serveViaConnect, type AdsStream } from "./ads-transports.js";
import { isPlainGrpc, type ResponseSink } from "./grpc-stream.js";
import { encodeSotwResponse, preEncodeResources } from "./pre-encoded-resources.js";
import { createSotwRequestDecoder } from "./sotw-request-decoder.js";
import { VERIFIED_IDENTITY } from "./verified-identity.js";

export interface AdsServerOptions {
  cache: ConfigCache;
  parseProxy: ProxyParser;
  /** DNS domain passed to the proxy parser (`cluster.local`). */
  domain: string;
  logger: Logger;
  metrics: PilotMetrics;
  /** Streams are closed after this long (±10 % jitter) so load rebalances; default 30 min (Istio's MaxConnectionAge). */
  maxConnectionAgeMs?: number;
  /**
   * Longest a fan-out runs before yielding to the event loop (ms). Long
   * enough that an EDS push to a thousand proxies goes out in one go before
   * their ACKs are parsed; short enough that a big full push lets requests,
   * new connections and /debug in.
   */
  pushSliceMs?: number;
}

export interface PushRequest {
  /** False for EDS-only pushes. */
  full: boolean;
  /** For EDS-only pushes: the cluster names whose assignments changed (from ConfigCache.update). */
  edsClusters?: readonly string[];
  /** For incremental pushes: `namespace/name` of the Secrets that changed (SDS to the proxies watching them). */
  secrets?: ReadonlySet<string>;
  /** performance.now() of the first change in this batch. */
  startedAt: number;
}

export interface PushSummary {
  proxies: number;
  responses: number;
  durationMs: number;
}

export interface AdsServer {
  /** Registers the ADS service on a connect router. */
  routes(router: ConnectRouter): void;
  /**
   * Serves an ADS stream directly when the request is plain gRPC for one of
   * the two ADS methods; false leaves the request to the caller (connect).
   */
  handleHttp2(req: Http2ServerRequest, res: Http2ServerResponse): boolean;
  /** Sends what changed to every affected connection. */
  push(request: PushRequest): Promise<PushSummary>;
  connections(): AdsConnection[];
  /** Ends every stream (graceful shutdown). */
  closeAll(): void;
}

const EDS = TypeUrl.ClusterLoadAssignment;
const SDS = TypeUrl.Secret;
const SOTW_PATH = `/${AggregatedDiscoveryService.typeName}/${AggregatedDiscoveryService.method.streamAggregatedResources.name}`;
const DELTA_PATH = `/${AggregatedDiscoveryService.typeName}/${AggregatedDiscoveryService.method.deltaAggregatedResources.name}`;
/** Per stream: the SotW decoder remembers the stream's recent subscriptions (sotw-request-decoder.ts). */
const sotwCodec = () => ({
  decode: createSotwRequestDecoder(),
  encode: encodeSotwResponse,
});
const preEncodeSotw = (response: DiscoveryResponse, snapshot: ResourceSnapshot, names: readonly string[] | "*") => preEncodeResources(response, { snapshot, names });
const DELTA_CODEC = {
  decode: (bytes: Uint8Array) => fromBinary(DeltaDiscoveryRequestSchema, bytes),
  encode: (message: DeltaDiscoveryResponse) => toBinary(DeltaDiscoveryResponseSchema, message),
};

/** The SDS names `conn` watches that a change of `secrets` (`namespace/name`) can alter: only its authenticated namespace's. */
function secretNamesWatched(conn: AdsConnection, secrets: ReadonlySet<string>): string[] {
  const namespace = conn.proxy.verifiedIdentity?.namespace;
  if (namespace === undefined || conn.subscribedNames(SDS) === undefined) return [];
  const names = new Set<string>();
  for (const key of secrets) {
    const slash = key.indexOf("/");
    if (key.slice(0, slash) !== namespace) continue;
    for (const name of affectedResourceNames(namespace, key.slice(slash + 1))) if (conn.watches(SDS, name)) names.add(name);
  }
  return [...names].sort();
}

/** Subscribed types in Envoy's make-before-break order, then the rest in subscription order. */
function orderedTypes(types: readonly string[]): string[] {
  const known = PUSH_ORDER.filter((t) => types.includes(t));
  return [...known, ...types.filter((t) => !PUSH_ORDER.includes(t))];
}


export function createAdsServer(options: AdsServerOptions): AdsServer {
  const { cache, metrics, logger } = options;
  const maxAgeMs = options.maxConnectionAgeMs ?? 30 * 60_000;
  const sliceMs = options.pushSliceMs ?? 200;
  const live = new Map<string, AdsConnection>();
  let counter = 0;

  function parseNode(node: Node | undefined): ProxyInfo {
    if (!node) throw new ConnectError("the first request on an ADS stream must carry node (envoy.config.core.v3.Node)", Code.InvalidArgument);
    try {
      return options.parseProxy(node, options.domain);
    } catch (error) {
      const message = (error as Error).message;
      // The parser usually names the node id itself; add it only when it does not.
      throw new ConnectError(message.includes(JSON.stringify(node.id)) ? message : `node id ${JSON.stringify(node.id)}: ${message}`, Code.InvalidArgument);
    }
  }

  function checkType(typeUrl: string): void {
    if (!typeUrl) throw new ConnectError("type_url is required on an aggregated (ADS) stream", Code.InvalidArgument);
    if (!findMessage(typeUrl)) throw new ConnectError(`unknown type URL ${JSON.stringify(typeUrl)}: not an xDS resource type`, Code.InvalidArgument);
  }

  /** Sends one type if it changed (only the `only` resources, for incremental EDS); records push metrics. */
  function sendType(conn: AdsConnection, typeUrl: string, only?: ReadonlySet<string>): boolean {
    const names = conn.subscribedNames(typeUrl);
    if (names === undefined) return false;
    const t0 = performance.now();
    const snapshot = cache.snapshot(conn.proxy, typeUrl, names);
    const sent = conn.send(typeUrl, snapshot, only);
    if (sent) {
      const label = metrics.typeLabel(typeUrl);
      metrics.pushes.inc({ type: label });
      metrics.pushTime.observe((performance.now() - t0) / 1000, { type: label });
    }
    return sent;
  }

  /** sendType for one proxy's request: a generator failure is logged, the stream lives on. */
  function answer(conn: AdsConnection, typeUrl: string): void {
    if (!cache.current()) return; // the first push will answer
    try {
      sendType(conn, typeUrl);
    } catch (error) {
      metrics.pushErrors.inc({ type: metrics.typeLabel(typeUrl) });
      logger.error({ proxy: conn.proxy.id, type: metrics.typeLabel(typeUrl), err: error }, "generating config failed");
    }
  }

  /** Streams already told that they get no credentials (istiod warns on every push; once per stream is enough). */
  const warnedNoIdentity = new WeakSet<AdsConnection>();

  function onEvent(conn: AdsConnection, event: AdsServerEvent): void {
    const log = logger.child({ proxy: conn.proxy.id, type: metrics.typeLabel(event.typeUrl) });
    switch (event.kind) {
      case "subscribe":
        log.debug({ names: event.wildcard ? "*" : event.names.length }, "subscribe");
        if (event.typeUrl === SDS && !conn.proxy.verifiedIdentity && !warnedNoIdentity.has(conn)) {
          warnedNoIdentity.add(conn);
          log.warn(
            { conn: conn.id, names: event.names.slice(0, 3) },
            `proxy ${conn.proxy.id} asked for SDS credentials on an unauthenticated stream and gets none: Secrets are served only to authenticated proxies; connect over the CA's TLS port (--ca-addr, istiod's 15012) with a workload token`,
          );
        }
        answer(conn, event.typeUrl);
        return;
      case "ack":
        if (event.subscriptionChanged) answer(conn, event.typeUrl);
        return;
      case "nack":
        metrics.rejects.inc({ type: metrics.typeLabel(event.typeUrl) });
        // Not re-pushed: the state machine answers "up to date" until the config changes.
        log.warn({ version: event.version, nonce: event.nonce, errorDetail: event.message }, "proxy rejected config (NACK)");
        if (event.subscriptionChanged) answer(conn, event.typeUrl);
        return;
      case "invalid":
        throw new ConnectError(event.reason, Code.InvalidArgument);
      case "stale":
        log.debug({ nonce: event.nonce }, "ignoring request with stale nonce");
        return;
    }
  }

  /**
   * The transport-free half of one ADS stream: feed it requests, it answers
   * through `sink`. Throws ConnectError for what must end the stream.
   */
  function openStream<Req extends { typeUrl: string; node?: Node }, Res>(
    mode: AdsMode,
    state: ServerStreamState<Req, Res>,
    sink: ResponseSink<Res>,
    encode?: (response: Res, snapshot: ResourceSnapshot, names: readonly string[] | "*") => Res,
    identity?: VerifiedIdentity,
  ): AdsStream<Req> {
    let conn: AdsConnection<Req> | undefined;
    let ageTimer: NodeJS.Timeout | undefined;
    return {
      get conn() {
        return conn;
      },
      receive(request) {
        if (!conn) {
          const parsed = parseNode(request.node);
          const proxy: ProxyInfo = identity ? { ...parsed, verifiedIdentity: identity } : parsed;
          conn = createAdsConnection({ id: `${proxy.id}-${++counter}`, proxy, mode, state, out: sink, encode });
          live.set(conn.id, conn);
          metrics.connected.inc({ version: metrics.version });
          logger.debug({ proxy: proxy.id, conn: conn.id, mode, authenticated: identity ? `${identity.namespace}/${identity.serviceAccount}` : false }, "proxy connected");
          const age = maxAgeMs * (0.9 + Math.random() * 0.2);
          ageTimer = setTimeout(() => {
            logger.debug({ conn: conn?.id }, "max connection age reached, closing stream");
            sink.end();
          }, age);
          ageTimer.unref();
        }
        checkType(request.typeUrl);
        onEvent(conn, conn.receive(request));
      },
      close() {
        if (ageTimer) clearTimeout(ageTimer);
        if (conn && live.delete(conn.id)) {
          metrics.connected.dec({ version: metrics.version });
          logger.debug({ proxy: conn.proxy.id, conn: conn.id }, "proxy disconnected");
        }
      },
    };
  }

  return {
    handleHttp2(req, res) {
      if (!isPlainGrpc(req)) return false;
      if (req.url === SOTW_PATH) {
        serveDirect(req, res, sotwCodec(), logger, (sink) => openStream<DiscoveryRequest, DiscoveryResponse>("sotw", createSotwServerStream(), sink, preEncodeSotw));
        return true;
      }
      if (req.url === DELTA_PATH) {
        serveDirect(req, res, DELTA_CODEC, logger, (sink) => openStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>("delta", createDeltaServerStream(), sink));
        return true;
      }
      return false;
    },

    routes(router) {
      router.service(AggregatedDiscoveryService, {
        // Only the CA's TLS port sets VERIFIED_IDENTITY (ca-server.ts); elsewhere it is undefined.
        streamAggregatedResources: (requests: AsyncIterable<DiscoveryRequest>, ctx: HandlerContext) =>
          serveViaConnect(requests, ctx, logger, (sink) =>
            openStream<DiscoveryRequest, DiscoveryResponse>("sotw", createSotwServerStream(), sink, preEncodeSotw, ctx.values.get(VERIFIED_IDENTITY)),
          ),
        deltaAggregatedResources: (requests: AsyncIterable<DeltaDiscoveryRequest>, ctx: HandlerContext) =>
          serveViaConnect(requests, ctx, logger, (sink) =>
            openStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>("delta", createDeltaServerStream(), sink, undefined, ctx.values.get(VERIFIED_IDENTITY)),
          ),
      });
    },

    async push(request) {
      const t0 = performance.now();
      let proxies = 0;
      let responses = 0;
      const targets = [...live.values()];
      const onlySets = new Map<string, Set<string>>();
      let sliceStart = t0;
      for (let i = 0; i < targets.length; i++) {
        const conn = targets[i];
        if (conn.closed) continue;
        const plan: Array<[typeUrl: string, only: ReadonlySet<string> | undefined]> = [];
        if (request.full) for (const t of orderedTypes(conn.types())) plan.push([t, undefined]);
        else {
          // Proxies watching the same changed resources share one Set, so they share one response view (ads-connection.ts).
          const shared = (typeUrl: string, names: string[]) => {
            const key = `${typeUrl}\n${names.join("\n")}`;
            let only = onlySets.get(key);
            if (!only) onlySets.set(key, (only = new Set(names)));
            if (only.size) plan.push([typeUrl, only]);
          };
          shared(EDS, (request.edsClusters ?? []).filter((c) => conn.watches(EDS, c)));
          if (request.secrets && conn.proxy.verifiedIdentity) shared(SDS, secretNamesWatched(conn, request.secrets));
        }
        let sent = 0;
        for (const [typeUrl, only] of plan) {
          try {
            if (sendType(conn, typeUrl, only)) sent++;
          } catch (error) {
            metrics.pushErrors.inc({ type: metrics.typeLabel(typeUrl) });
            logger.error({ proxy: conn.proxy.id, type: metrics.typeLabel(typeUrl), err: error }, "generating config failed; proxy keeps its last config");
          }
        }
        if (sent) {
          proxies++;
          responses += sent;
          metrics.convergence.observe((performance.now() - request.startedAt) / 1000);
        }
        // Let the writes go out and requests come in between slices.
        if (performance.now() - sliceStart > sliceMs) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
        }
      }
      return { proxies, responses, durationMs: performance.now() - t0 };
    },

    connections: () => [...live.values()],
    closeAll() {
      for (const conn of live.values()) conn.close();
    },
  };
}
