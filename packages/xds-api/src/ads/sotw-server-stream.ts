import { create } from "@bufbuild/protobuf";
import {
  DiscoveryResponseSchema,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { createNonceSource, parseSubscription, sameSet, type NackDetail, type ResourceSnapshot } from "./resources.js";
import { subscribedNamesOf, typeStatuses, type AdsServerEvent, type AdsTypeStatus } from "./server-events.js";

interface WatchState {
  wildcard: boolean;
  names: Set<string>;
  sentVersion?: string;
  sentNonce?: string;
  ackedVersion?: string;
  lastNack?: NackDetail;
  /** The subscription changed since the last response (or none was sent yet): respond even if the version is unchanged. */
  dirty: boolean;
}

/**
 * Server side of one State-of-the-World ADS stream, with no transport: feed it
 * each request, ask it what to send for a snapshot. It never stores resources
 * (the cache does) — only what the client subscribed to, was sent and acked.
 */
export interface SotwServerStream {
  receive(request: DiscoveryRequest): AdsServerEvent;
  /** The response for this type given the current snapshot, or undefined when the client is up to date or not subscribed. */
  respond(typeUrl: string, snapshot: ResourceSnapshot): DiscoveryResponse | undefined;
  /** Types the client watches. */
  watchedTypes(): string[];
  /** Subscribed names for a type (undefined = wildcard). */
  subscribedNames(typeUrl: string): ReadonlySet<string> | undefined;
  status(): AdsTypeStatus[];
}

function unchangedSubscription(names: readonly string[], watch: WatchState): boolean {
  if (watch.wildcard) return names.length === 0 || (names.length === 1 && names[0] === "*");
  if (names.length !== watch.names.size) return false;
  for (const name of names) if (!watch.names.has(name)) return false;
  return true;
}

export function createSotwServerStream(options: { noncePrefix?: string } = {}): SotwServerStream {
  const watches = new Map<string, WatchState>();
  const nextNonce = createNonceSource(options.noncePrefix);

  function receive(request: DiscoveryRequest): AdsServerEvent {
    const typeUrl = request.typeUrl;
    if (!typeUrl) return { kind: "invalid", typeUrl, reason: "DiscoveryRequest without type_url on an ADS stream" };
    const watch = watches.get(typeUrl);
    if (!watch) {
      const sub = parseSubscription(request.resourceNames, typeUrl, true);
      watches.set(typeUrl, { wildcard: sub.wildcard, names: sub.names, dirty: true });
      return { kind: "subscribe", typeUrl, names: [...sub.names], wildcard: sub.wildcard, resumedVersion: request.versionInfo || undefined };
    }
    // A request answering an older response than the latest one is stale: the
    // client has not seen the newest push yet, so nothing in it is meaningful.
    if (request.responseNonce && request.responseNonce !== watch.sentNonce) {
      return { kind: "stale", typeUrl, nonce: request.responseNonce };
    }
    // Most requests are ACKs repeating the subscription (EDS: hundreds of
    // names); check that without allocating before parsing anything.
    const subscriptionChanged = !unchangedSubscription(request.resourceNames, watch);
    if (subscriptionChanged) {
      const sub = parseSubscription(request.resourceNames, typeUrl, false);
      // Under the legacy wildcard, an LDS/CDS request with no names keeps the wildcard.
      const wildcard = sub.wildcard || (watch.wildcard && sub.names.size === 0);
      if (wildcard !== watch.wildcard || !sameSet(sub.names, watch.names)) {
        watch.wildcard = wildcard;
        watch.names = sub.names;
        watch.dirty = true;
      }
    }
    if (request.errorDetail) {
      watch.lastNack = {
        version: watch.sentVersion ?? "",
        nonce: request.responseNonce,
        message: request.errorDetail.message,
        at: new Date(),
      };
      return { kind: "nack", typeUrl, version: watch.lastNack.version, nonce: request.responseNonce, message: request.errorDetail.message, subscriptionChanged };
    }
    if (request.responseNonce) {
      watch.ackedVersion = request.versionInfo;
      return { kind: "ack", typeUrl, version: request.versionInfo, nonce: request.responseNonce, subscriptionChanged };
    }
    return { kind: "subscribe", typeUrl, names: [...watch.names], wildcard: watch.wildcard, resumedVersion: undefined };
  }

  function respond(typeUrl: string, snapshot: ResourceSnapshot): DiscoveryResponse | undefined {
    const watch = watches.get(typeUrl);
    if (!watch) return undefined;
    if (!watch.dirty) {
      if (watch.sentVersion === snapshot.version) return undefined;
      // Never re-push the exact config the client just rejected.
      if (watch.lastNack && watch.lastNack.version === snapshot.version) return undefined;
    }
    const resources = [];
    if (watch.wildcard) {
      for (const r of snapshot.resources.values()) resources.push(r.resource);
    } else if (watch.names.size <= snapshot.resources.size) {
      for (const name of watch.names) {
        const r = snapshot.resources.get(name);
        if (r) resources.push(r.resource);
      }
    } else {
      // An incremental EDS snapshot holds a few changed clusters: walk those.
      for (const [name, r] of snapshot.resources) if (watch.names.has(name)) resources.push(r.resource);
    }
    const nonce = nextNonce();
    watch.sentVersion = snapshot.version;
    watch.sentNonce = nonce;
    watch.dirty = false;
    return create(DiscoveryResponseSchema, { versionInfo: snapshot.version, resources, typeUrl, nonce });
  }

  return {
    receive,
    respond,
    watchedTypes: () => [...watches.keys()],
    subscribedNames: (typeUrl) => subscribedNamesOf(watches.get(typeUrl)),
    status: () => typeStatuses(watches),
  };
}
