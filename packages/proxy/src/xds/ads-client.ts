import type { Logger } from "pino";
import { createDeltaClient, createSotwClient, TypeUrl, TYPE_SHORT_NAME, type AdsClientTypeStatus, type ApplyUpdate } from "@weft/xds-api";
import type { Node } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb";
import { AggregatedDiscoveryService } from "@weft/xds-api/gen/envoy/service/discovery/v3/ads_pb";
import type { GrpcChannel } from "../grpc/grpc-channel.js";
import type { ProxyRuntime, StatsStore } from "../contracts.js";
import { backoffDelayMs, type AdsTarget } from "./ads-target.js";
import { createAdsChannel } from "./ads-transport.js";
import { RequestQueue } from "./request-queue.js";
import { validateUpdate } from "./validate-update.js";

export interface AdsClientOptions {
  node: Node;
  target: AdsTarget;
  runtime: Pick<ProxyRuntime, "apply" | "subscriptions">;
  stats: StatsStore;
  logger: Logger;
  /** Tests inject a channel; otherwise one is made from target.address (and closed with the client). */
  channel?: GrpcChannel;
  random?: () => number;
  /** How long LDS waits for the EDS of a new CDS batch before applying anyway (Envoy: initial_fetch_timeout, 15 s). */
  warmingTimeoutMs?: number;
}

export interface AdsClient {
  start(): void;
  close(): Promise<void>;
  connected(): boolean;
  status(): AdsClientTypeStatus[];
}

interface Response {
  typeUrl: string;
}
interface Request {
  errorDetail?: unknown;
}

/** SotW and delta behind one shape, so the scheduling below is written once. */
interface Protocol {
  subscribe(typeUrl: string, names: readonly string[] | "*"): Request | undefined;
  receive(response: Response, apply: ApplyUpdate): Promise<Request>;
  reconnect(): Request[];
  status(): AdsClientTypeStatus[];
  open(requests: AsyncIterable<Request>, signal: AbortSignal): AsyncIterable<Response>;
}

function protocolFor(delta: boolean, node: Node, channel: GrpcChannel): Protocol {
  const ads = AggregatedDiscoveryService.method;
  if (delta) {
    const c = createDeltaClient(node);
    return {
      subscribe: (t, n) => c.subscribe(t, n),
      receive: (r, a) => c.receive(r as never, a),
      reconnect: () => c.reconnect(),
      status: () => c.status(),
      open: (reqs, signal) => channel.bidiStream(ads.deltaAggregatedResources, reqs as never, signal),
    };
  }
  const c = createSotwClient(node);
  return {
    subscribe: (t, n) => c.subscribe(t, n),
    receive: (r, a) => c.receive(r as never, a),
    reconnect: () => c.reconnect(),
    status: () => c.status(),
    open: (reqs, signal) => channel.bidiStream(ads.streamAggregatedResources, reqs as never, signal),
  };
}

const STAT_PREFIX: Record<string, string> = {
  [TypeUrl.Cluster]: "cluster_manager.cds",
  [TypeUrl.Listener]: "listener_manager.lds",
  [TypeUrl.ClusterLoadAssignment]: "cluster_manager.eds",
  [TypeUrl.RouteConfiguration]: "http.rds",
  [TypeUrl.Secret]: "sds",
};

/**
 * The proxy's ADS client. Subscribes CDS and LDS (wildcard) first, then the
 * EDS/RDS/SDS names the runtime asks for after each apply. Make-before-break
 * as Envoy's init manager does: an LDS response that arrives while a new CDS
 * batch still waits for its EDS is held until that EDS is applied (or the
 * warming timeout passes). A batch the runtime rejects is NACKed with the
 * runtime's message (resource and field) and the old config keeps serving;
 * so does everything while the server is unreachable. Reconnects back off
 * with jitter (0.5 s → 30 s) and resend every subscription with the versions
 * last accepted.
 */
export function createAdsClient(options: AdsClientOptions): AdsClient {
  const { logger, stats, runtime } = options;
  const log = logger.child({ component: "ads" });
  const channel = options.channel ?? createAdsChannel(options.target.address);
  const protocol = protocolFor(options.target.delta, options.node, channel);
  const warmingTimeoutMs = options.warmingTimeoutMs ?? 15_000;
  const connectedGauge = stats.gauge("control_plane.connected_state", "never_import");

  let closed = false;
  let isConnected = false;
  let everConnected = false;
  let queue: RequestQueue<Request> | undefined;
  let abort: AbortController | undefined;
  let running: Promise<void> | undefined;
  let sleepTimer: NodeJS.Timeout | undefined;
  let wakeSleep: (() => void) | undefined;

  // Make-before-break state (per stream).
  let waitingForEds = false;
  let warmingTimer: NodeJS.Timeout | undefined;
  let held: Response[] = [];

  const send = (req: Request | undefined) => {
    if (req) queue?.push(req);
  };

  const counters = (typeUrl: string) => {
    const prefix = STAT_PREFIX[typeUrl] ?? `xds.${TYPE_SHORT_NAME[typeUrl as keyof typeof TYPE_SHORT_NAME] ?? "unknown"}`;
    return {
      attempt: stats.counter(`${prefix}.update_attempt`),
      success: stats.counter(`${prefix}.update_success`),
      rejected: stats.counter(`${prefix}.update_rejected`),
    };
  };

  const updateSubscriptions = (): boolean => {
    const subs = runtime.subscriptions();
    let edsChanged = false;
    const status = new Map(protocol.status().map((s) => [s.typeUrl, s]));
    const want: Array<[string, string[]]> = [
      [TypeUrl.ClusterLoadAssignment, subs.eds],
      [TypeUrl.RouteConfiguration, subs.rds],
      [TypeUrl.Secret, subs.sds],
    ];
    for (const [typeUrl, names] of want) {
      // An empty first request would read as a wildcard subscription: don't send one.
      if (names.length === 0 && !status.has(typeUrl)) continue;
      const req = protocol.subscribe(typeUrl, names);
      if (req && typeUrl === TypeUrl.ClusterLoadAssignment && names.length > 0) edsChanged = true;
      send(req);
    }
    return edsChanged;
  };

  const releaseHeld = async () => {
    waitingForEds = false;
    if (warmingTimer) clearTimeout(warmingTimer);
    warmingTimer = undefined;
    const pending = held;
    held = [];
    for (const r of pending) await process(r);
  };

  async function process(response: Response): Promise<void> {
    const typeUrl = response.typeUrl;
    const c = counters(typeUrl);
    c.attempt.inc();
    const reply = await protocol.receive(response, async (update) => {
      validateUpdate(update);
      await runtime.apply(update);
    });
    send(reply);
    if (reply.errorDetail) {
      c.rejected.inc();
      log.warn({ typeUrl, error: (reply.errorDetail as { message?: string }).message }, "xDS update rejected (NACK); keeping the previous config");
      return;
    }
    c.success.inc();
    log.debug({ typeUrl }, "xDS update applied (ACK)");
    const edsChanged = updateSubscriptions();
    if (typeUrl === TypeUrl.Cluster && edsChanged) {
      // The new clusters warm until their endpoints arrive; LDS waits for them.
      waitingForEds = true;
      if (warmingTimer) clearTimeout(warmingTimer);
      warmingTimer = setTimeout(() => {
        log.warn({ timeoutMs: warmingTimeoutMs }, "EDS for the new clusters did not arrive in time; applying held listeners anyway");
        void chain(releaseHeld);
      }, warmingTimeoutMs);
      warmingTimer.unref();
    } else if (typeUrl === TypeUrl.ClusterLoadAssignment && waitingForEds) {
      await releaseHeld();
    }
  }

  // Every response is handled in arrival order on one chain.
  let tail: Promise<void> = Promise.resolve();
  const chain = (fn: () => Promise<void>): Promise<void> => {
    tail = tail.then(fn).catch((err: unknown) => log.error({ err }, "ADS response handling failed"));
    return tail;
  };

  const onResponse = (response: Response) =>
    chain(async () => {
      if (response.typeUrl === TypeUrl.Listener && waitingForEds) {
        held.push(response);
        return;
      }
      await process(response);
    });

  // One warning per outage; the retries behind it log at debug.
  let outageReported = false;
  const outageLog = (msg: string, err?: string) => {
    if (outageReported) log.debug({ err }, msg);
    else log.warn({ err, via: options.target.via }, msg);
    outageReported = true;
  };

  async function runStream(): Promise<void> {
    queue = new RequestQueue<Request>();
    abort = new AbortController();
    waitingForEds = false;
    held = [];
    if (!everConnected) {
      send(protocol.subscribe(TypeUrl.Cluster, "*"));
      send(protocol.subscribe(TypeUrl.Listener, "*"));
    } else {
      for (const req of protocol.reconnect()) send(req);
    }
    everConnected = true;
    try {
      for await (const response of protocol.open(queue, abort.signal)) {
        if (!isConnected) {
          isConnected = true;
          connectedGauge.set(1);
          log.info({ via: options.target.via }, "connected to the xDS server");
          outageReported = false;
        }
        await onResponse(response);
      }
      if (!closed) outageLog("the xDS server closed the stream; the current config keeps serving");
    } catch (err) {
      if (!closed) outageLog("xDS stream failed; the current config keeps serving", (err as Error).message);
    } finally {
      queue.end();
      if (warmingTimer) clearTimeout(warmingTimer);
      warmingTimer = undefined;
    }
  }

  async function loop(): Promise<void> {
    let attempt = 0;
    while (!closed) {
      const before = isConnected;
      await runStream();
      const hadResponses = isConnected || before;
      isConnected = false;
      connectedGauge.set(0);
      if (closed) break;
      if (hadResponses) attempt = 0;
      const delay = backoffDelayMs(attempt++, options.random);
      log.debug({ delayMs: delay }, "reconnecting to the xDS server");
      await new Promise<void>((resolve) => {
        wakeSleep = resolve;
        sleepTimer = setTimeout(resolve, delay);
      });
    }
  }

  return {
    start() {
      running ??= loop();
    },
    async close() {
      closed = true;
      abort?.abort();
      queue?.end();
      if (sleepTimer) clearTimeout(sleepTimer);
      wakeSleep?.();
      if (warmingTimer) clearTimeout(warmingTimer);
      await running?.catch(() => undefined);
      await tail;
      if (!options.channel) channel.close();
    },
    connected: () => isConnected,
    status: () => protocol.status(),
  };
}
