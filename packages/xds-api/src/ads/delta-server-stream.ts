import { create } from "@bufbuild/protobuf";
import {
  DeltaDiscoveryResponseSchema,
  ResourceSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
} from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { createNonceSource, WILDCARD, isStateOfTheWorldType, type NackDetail, type ResourceSnapshot } from "./resources.js";
import { subscribedNamesOf, typeStatuses, type AdsServerEvent, type AdsTypeStatus } from "./server-events.js";

interface DeltaWatch {
  wildcard: boolean;
  names: Set<string>;
  /** What we believe the client holds: name → version. */
  known: Map<string, string>;
  /** In-flight responses: nonce → the `known` entries they changed (previous value, or undefined if new). */
  inFlight: Map<string, Map<string, string | undefined>>;
  /** No response sent since the (re)subscription: the client waits for one even if it is empty. */
  awaitingFirst: boolean;
  /** Names the client asked for again: resend even if it has the version (spec: re-subscribe means resend). */
  forceSend: Set<string>;
  sentVersion?: string;
  sentNonce?: string;
  ackedVersion?: string;
  lastNack?: NackDetail;
  /** The snapshot version a NACK rejected: not re-pushed until the content changes. */
  rejected: Map<string, string>;
}

/** Server side of one incremental (delta) ADS stream, transport-free. */
export interface DeltaServerStream {
  receive(request: DeltaDiscoveryRequest): AdsServerEvent;
  /** The changes to send for this type given the snapshot, or undefined when the client is up to date. */
  respond(typeUrl: string, snapshot: ResourceSnapshot): DeltaDiscoveryResponse | undefined;
  watchedTypes(): string[];
  subscribedNames(typeUrl: string): ReadonlySet<string> | undefined;
  status(): AdsTypeStatus[];
}

export function createDeltaServerStream(options: { noncePrefix?: string } = {}): DeltaServerStream {
  const watches = new Map<string, DeltaWatch>();
  const nextNonce = createNonceSource(options.noncePrefix);

  function receive(request: DeltaDiscoveryRequest): AdsServerEvent {
    const typeUrl = request.typeUrl;
    if (!typeUrl) return { kind: "invalid", typeUrl, reason: "DeltaDiscoveryRequest without type_url on an ADS stream" };
    let watch = watches.get(typeUrl);
    let subscriptionChanged = false;
    if (!watch) {
      const subscribe = request.resourceNamesSubscribe;
      // Legacy wildcard: an initial LDS/CDS request naming nothing means "everything".
      const wildcard = subscribe.includes(WILDCARD) || (subscribe.length === 0 && isStateOfTheWorldType(typeUrl));
      watch = {
        wildcard,
        names: new Set(subscribe.filter((n) => n !== WILDCARD)),
        known: new Map(Object.entries(request.initialResourceVersions)),
        inFlight: new Map(),
        awaitingFirst: true,
        forceSend: new Set(),
        rejected: new Map(),
      };
      watches.set(typeUrl, watch);
      return { kind: "subscribe", typeUrl, names: [...watch.names], wildcard: watch.wildcard };
    }
    for (const name of request.resourceNamesSubscribe) {
      subscriptionChanged = true;
      if (name === WILDCARD) watch.wildcard = true;
      else {
        watch.names.add(name);
        watch.forceSend.add(name);
      }
    }
    for (const name of request.resourceNamesUnsubscribe) {
      subscriptionChanged = true;
      if (name === WILDCARD) watch.wildcard = false;
      else {
        watch.names.delete(name);
        if (!watch.wildcard) watch.known.delete(name);
      }
    }
    const nonce = request.responseNonce;
    if (!nonce) {
      return { kind: "subscribe", typeUrl, names: [...watch.names], wildcard: watch.wildcard };
    }
    const changed = watch.inFlight.get(nonce);
    if (!changed) return { kind: "stale", typeUrl, nonce };
    watch.inFlight.delete(nonce);
    if (request.errorDetail) {
      // The client applied none of that response: forget we thought it had it.
      for (const [name, previous] of changed) {
        if (watch.known.get(name) !== undefined) watch.rejected.set(name, watch.known.get(name)!);
        if (previous === undefined) watch.known.delete(name);
        else watch.known.set(name, previous);
      }
      watch.lastNack = { version: watch.sentVersion ?? "", nonce, message: request.errorDetail.message, at: new Date() };
      return { kind: "nack", typeUrl, version: watch.lastNack.version, nonce, message: request.errorDetail.message, subscriptionChanged };
    }
    watch.ackedVersion = watch.sentVersion;
    return { kind: "ack", typeUrl, version: watch.sentVersion ?? "", nonce, subscriptionChanged };
  }

  function respond(typeUrl: string, snapshot: ResourceSnapshot): DeltaDiscoveryResponse | undefined {
    const watch = watches.get(typeUrl);
    if (!watch) return undefined;
    const resources = [];
    const changed = new Map<string, string | undefined>();
    const wanted = watch.wildcard ? snapshot.resources.keys() : watch.names.values();
    for (const name of wanted) {
      const r = snapshot.resources.get(name);
      if (!r) continue;
      const held = watch.known.get(name);
      if (held === r.version && !watch.forceSend.has(name)) continue;
      if (watch.rejected.get(name) === r.version && !watch.forceSend.has(name)) continue;
      resources.push(create(ResourceSchema, { name, version: r.version, resource: r.resource }));
      changed.set(name, held);
    }
    const removed: string[] = [];
    for (const name of watch.known.keys()) {
      const stillWanted = watch.wildcard || watch.names.has(name);
      if (stillWanted && !snapshot.resources.has(name)) removed.push(name);
    }
    watch.forceSend.clear();
    if (resources.length === 0 && removed.length === 0 && !watch.awaitingFirst) return undefined;
    for (const [name] of changed) watch.known.set(name, snapshot.resources.get(name)!.version);
    for (const name of removed) {
      changed.set(name, watch.known.get(name));
      watch.known.delete(name);
    }
    const nonce = nextNonce();
    watch.inFlight.set(nonce, changed);
    watch.awaitingFirst = false;
    watch.sentVersion = snapshot.version;
    watch.sentNonce = nonce;
    for (const name of changed.keys()) watch.rejected.delete(name);
    return create(DeltaDiscoveryResponseSchema, {
      systemVersionInfo: snapshot.version,
      resources,
      removedResources: removed,
      typeUrl,
      nonce,
    });
  }

  return {
    receive,
    respond,
    watchedTypes: () => [...watches.keys()],
    subscribedNames: (typeUrl) => subscribedNamesOf(watches.get(typeUrl)),
    status: () => typeStatuses(watches),
  };
}
