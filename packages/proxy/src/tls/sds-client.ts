// SDS over its own gRPC stream (`sds_config.api_config_source` → envoy_grpc
// cluster, e.g. Istio's `sds-grpc` on the agent's Unix socket):
// SecretDiscoveryService StreamSecrets (SotW) or DeltaSecrets, subscribing to
// the names the secret store wants from this source, ACK/NACK through the
// xds-api client state machines, reconnecting with jittered backoff. Secrets
// already received keep serving while the server is away.
import type { Logger } from "pino";
import { createDeltaClient, createSotwClient, TypeUrl, type ApplyUpdate } from "@weft/xds-api";
import type { Node } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb.js";
import { SecretDiscoveryService } from "@weft/xds-api/gen/envoy/service/secret/v3/sds_pb.js";
import type { GrpcChannel } from "../grpc/grpc-channel.js";
import type { ResourceUpdate } from "../contracts.js";
import { backoffDelayMs } from "../xds/ads-target.js";
import { RequestQueue } from "../xds/request-queue.js";

export interface SdsClientOptions {
  node: Node;
  /** The SDS cluster's channel; the client closes it when it is closed. */
  channel: GrpcChannel;
  delta: boolean;
  /** Names to subscribe to now (read again on every change and reconnect). */
  names(): string[];
  /** Validates and stores a batch; throws ResourceRejectedError → NACK. */
  apply(update: ResourceUpdate): Promise<void> | void;
  logger: Logger;
  random?: () => number;
}

export interface SdsClient {
  /** Re-reads names() and updates the subscription. */
  refresh(): void;
  connected(): boolean;
  close(): Promise<void>;
}

interface Req {
  errorDetail?: { message?: string };
}

export function createSdsClient(o: SdsClientOptions): SdsClient {
  const sds = SecretDiscoveryService.method;
  const log = o.logger;
  let closed = false;
  let isConnected = false;
  let queue: RequestQueue<Req> | undefined;
  let abort: AbortController | undefined;
  let wake: (() => void) | undefined;
  let sleepTimer: NodeJS.Timeout | undefined;
  const machine = o.delta ? createDeltaClient(o.node) : createSotwClient(o.node);
  let started = false;

  const subscribe = (): void => {
    const req = machine.subscribe(TypeUrl.Secret, o.names());
    if (req) queue?.push(req);
  };

  async function runStream(): Promise<void> {
    queue = new RequestQueue<Req>();
    abort = new AbortController();
    if (!started) {
      started = true;
      subscribe();
    } else for (const r of machine.reconnect()) queue.push(r);
    const responses = o.delta ? o.channel.bidiStream(sds.deltaSecrets, queue as never, abort.signal) : o.channel.bidiStream(sds.streamSecrets, queue as never, abort.signal);
    try {
      for await (const response of responses as AsyncIterable<unknown>) {
        if (!isConnected) {
          isConnected = true;
          log.info("connected to the SDS server");
        }
        const reply = await machine.receive(response as never, (async (u) => {
          await o.apply({ ...u, stateOfTheWorld: false });
        }) as ApplyUpdate);
        queue.push(reply);
        if ((reply as Req).errorDetail) log.warn({ error: (reply as Req).errorDetail?.message }, "secret rejected (NACK); keeping the previous one");
      }
    } catch (err) {
      if (!closed) log.warn({ err: (err as Error).message }, "SDS stream failed; current secrets keep serving");
    } finally {
      queue.end();
    }
  }

  async function loop(): Promise<void> {
    let attempt = 0;
    while (!closed) {
      await runStream();
      if (isConnected) attempt = 0;
      isConnected = false;
      if (closed) break;
      await new Promise<void>((r) => {
        wake = r;
        sleepTimer = setTimeout(r, backoffDelayMs(attempt++, o.random));
      });
    }
  }
  const running = loop();

  return {
    refresh: subscribe,
    connected: () => isConnected,
    async close() {
      closed = true;
      abort?.abort();
      queue?.end();
      if (sleepTimer) clearTimeout(sleepTimer);
      wake?.();
      await running.catch(() => undefined);
      o.channel.close();
    },
  };
}
