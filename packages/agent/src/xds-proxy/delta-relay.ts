import { clone, create } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import {
  DeltaDiscoveryRequestSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
} from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb";
import type { Node } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb";
import { createAsyncQueue } from "./async-queue.js";
import type { Backoff } from "./backoff.js";
import type { RelayEvents } from "./relay-events.js";
import { createUpstreamSession, type UpstreamSession } from "./upstream-session.js";

export interface DeltaRelayOptions {
  open(requests: AsyncIterable<DeltaDiscoveryRequest>, signal: AbortSignal): AsyncIterable<DeltaDiscoveryResponse>;
  backoff: Backoff;
  log: Logger;
  events: RelayEvents;
}

interface TypeState {
  /** Explicit subscriptions; wildcard when the first request subscribed to nothing (or to "*"). */
  names: Set<string>;
  wildcard: boolean;
  /** What the proxy holds: name → version, from the responses relayed to it. */
  versions: Map<string, string>;
}

/**
 * Relays one incremental (delta) ADS stream. On a new upstream stream it re-subscribes each
 * type with `initial_resource_versions` set to what the proxy already holds, as an Envoy
 * reconnecting itself would, so discovery sends only what changed during the outage.
 */
export function relayDelta(downstream: AsyncIterable<DeltaDiscoveryRequest>, o: DeltaRelayOptions, signal: AbortSignal): AsyncIterable<DeltaDiscoveryResponse> {
  const out = createAsyncQueue<DeltaDiscoveryResponse>();
  const types = new Map<string, TypeState>();
  const nonces = new Map<string, { typeUrl: string; generation: number }>();
  let node: Node | undefined;
  let nodeGeneration = 0;

  const stateOf = (typeUrl: string, req?: DeltaDiscoveryRequest): TypeState => {
    let s = types.get(typeUrl);
    if (!s) {
      const subscribe = req?.resourceNamesSubscribe ?? [];
      s = { names: new Set(subscribe.filter((n) => n !== "*")), wildcard: subscribe.length === 0 || subscribe.includes("*"), versions: new Map() };
      for (const [name, version] of Object.entries(req?.initialResourceVersions ?? {})) s.versions.set(name, version);
      types.set(typeUrl, s);
    }
    return s;
  };

  const withNode = (req: DeltaDiscoveryRequest, generation: number): DeltaDiscoveryRequest => {
    if (nodeGeneration === generation || !node) return req;
    nodeGeneration = generation;
    const r = clone(DeltaDiscoveryRequestSchema, req);
    r.node = node;
    return r;
  };

  const session: UpstreamSession<DeltaDiscoveryRequest> = createUpstreamSession<DeltaDiscoveryRequest, DeltaDiscoveryResponse>({
    open: o.open,
    backoff: o.backoff,
    log: o.log,
    onConnectedChange: (c) => o.events.upstreamConnected(c),
    initialRequests: (gen: number): DeltaDiscoveryRequest[] =>
      [...types.entries()].map(([typeUrl, s]) =>
        withNode(
          create(DeltaDiscoveryRequestSchema, {
            typeUrl,
            resourceNamesSubscribe: s.wildcard && s.names.size > 0 ? ["*", ...s.names] : [...s.names],
            initialResourceVersions: Object.fromEntries(s.versions),
          }),
          gen,
        ),
      ),
    onResponse: (res, generation) => {
      nonces.set(res.nonce, { typeUrl: res.typeUrl, generation });
      const s = stateOf(res.typeUrl);
      for (const r of res.resources) s.versions.set(r.name, r.version);
      for (const name of res.removedResources) s.versions.delete(name);
      out.push(res);
    },
  });

  const pump = async () => {
    try {
      for await (const req of downstream) {
        if (req.node && !node) node = req.node;
        const known = types.has(req.typeUrl);
        const s = stateOf(req.typeUrl, req);
        if (known) {
          for (const n of req.resourceNamesSubscribe) if (n === "*") s.wildcard = true; else s.names.add(n);
          for (const n of req.resourceNamesUnsubscribe) if (n === "*") s.wildcard = false; else s.names.delete(n);
        }
        const issued = req.responseNonce ? nonces.get(req.responseNonce) : undefined;
        if (issued) {
          nonces.delete(req.responseNonce);
          if (req.errorDetail) o.events.nack(req.typeUrl, req.errorDetail.message);
          else o.events.ack(req.typeUrl, "");
        }
        let toSend: DeltaDiscoveryRequest | undefined = req;
        if (req.responseNonce && issued?.generation !== session.generation) {
          // ACK/NACK of an earlier upstream stream: keep only its subscription changes.
          if (req.resourceNamesSubscribe.length === 0 && req.resourceNamesUnsubscribe.length === 0) toSend = undefined;
          else {
            toSend = clone(DeltaDiscoveryRequestSchema, req);
            toSend.responseNonce = "";
            toSend.errorDetail = undefined;
          }
        }
        if (toSend) session.send(withNode(toSend, session.generation));
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
