import { clone } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import {
  DiscoveryRequestSchema,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb";
import type { Node } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb";
import { createAsyncQueue } from "./async-queue.js";
import type { Backoff } from "./backoff.js";
import { createUpstreamSession, type UpstreamSession } from "./upstream-session.js";
import type { RelayEvents } from "./relay-events.js";

export interface SotwRelayOptions {
  open(requests: AsyncIterable<DiscoveryRequest>, signal: AbortSignal): AsyncIterable<DiscoveryResponse>;
  backoff: Backoff;
  log: Logger;
  events: RelayEvents;
}

const sameNames = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join("\0") === [...b].sort().join("\0");

/**
 * Relays one state-of-the-world ADS stream from the proxy to discovery. The latest request
 * per type is remembered and replayed (version kept, nonce cleared) on every new upstream
 * stream, so discovery resends what the proxy needs and the proxy never sees the outage.
 */
export function relaySotw(downstream: AsyncIterable<DiscoveryRequest>, o: SotwRelayOptions, signal: AbortSignal): AsyncIterable<DiscoveryResponse> {
  const out = createAsyncQueue<DiscoveryResponse>();
  const latest = new Map<string, DiscoveryRequest>(); // insertion order = the proxy's subscription order (CDS, LDS…)
  const sentNames = new Map<string, string[]>();
  const nonces = new Map<string, { typeUrl: string; generation: number }>();
  let node: Node | undefined;
  let nodeSentInGeneration = 0;

  const withNode = (req: DiscoveryRequest, generation: number): DiscoveryRequest => {
    if (nodeSentInGeneration === generation || !node) return req;
    nodeSentInGeneration = generation;
    const r = clone(DiscoveryRequestSchema, req);
    r.node = node;
    return r;
  };

  const session: UpstreamSession<DiscoveryRequest> = createUpstreamSession<DiscoveryRequest, DiscoveryResponse>({
    open: o.open,
    backoff: o.backoff,
    log: o.log,
    onConnectedChange: (c) => o.events.upstreamConnected(c),
    initialRequests: (gen: number): DiscoveryRequest[] => {
      return [...latest.values()].map((req) => {
        const r = clone(DiscoveryRequestSchema, req);
        r.responseNonce = "";
        r.errorDetail = undefined;
        sentNames.set(r.typeUrl, r.resourceNames);
        return withNode(r, gen);
      });
    },
    onResponse: (res, generation) => {
      nonces.set(res.nonce, { typeUrl: res.typeUrl, generation });
      out.push(res);
    },
  });

  const pump = async () => {
    try {
      for await (const req of downstream) {
        if (req.node && !node) node = req.node;
        latest.set(req.typeUrl, req);
        const issued = req.responseNonce ? nonces.get(req.responseNonce) : undefined;
        if (issued) {
          nonces.delete(req.responseNonce);
          if (req.errorDetail) o.events.nack(req.typeUrl, req.errorDetail.message);
          else o.events.ack(req.typeUrl, req.versionInfo);
        }
        let toSend: DiscoveryRequest | undefined = req;
        if (req.responseNonce && issued?.generation !== session.generation) {
          // An ACK/NACK for a response of an earlier upstream stream: discovery would not know
          // the nonce. Forward it only if it changes the subscription, as a fresh request.
          if (sameNames(req.resourceNames, sentNames.get(req.typeUrl) ?? [])) toSend = undefined;
          else {
            toSend = clone(DiscoveryRequestSchema, req);
            toSend.responseNonce = "";
          }
        }
        if (toSend) {
          sentNames.set(toSend.typeUrl, toSend.resourceNames);
          session.send(withNode(toSend, session.generation));
        }
      }
      out.end();
    } catch (err) {
      out.fail(err);
    } finally {
      session.close();
    }
  };
  signal.addEventListener("abort", () => {
    session.close();
    out.end();
  });
  void pump();
  return out;
}
