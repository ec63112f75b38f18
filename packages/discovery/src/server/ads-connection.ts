// One ADS stream from one proxy: its parsed identity, its protocol state
// (SotW or delta) and the sink its responses go to (connect-node's queue or
// the direct gRPC stream).
// Holds references to the snapshots last sent (shared with the cache, never
// copied) so /debug/config_dump can show exactly what the proxy was sent.
import type { ProxyInfo } from "../contracts.js";
import type { ResponseSink } from "./grpc-stream.js";
import type { AdsServerEvent, AdsTypeStatus, ResourceSnapshot } from "@weft/xds-api";

/** What SotwServerStream and DeltaServerStream (@weft/xds-api) have in common. */
export interface ServerStreamState<Req, Res> {
  receive(request: Req): AdsServerEvent;
  respond(typeUrl: string, snapshot: ResourceSnapshot): Res | undefined;
  watchedTypes(): string[];
  subscribedNames(typeUrl: string): ReadonlySet<string> | undefined;
  status(): AdsTypeStatus[];
}

export type AdsMode = "sotw" | "delta";

export interface AdsConnection<Req = unknown> {
  /** `<node id>-<n>`, unique per stream (Istio's conID). */
  readonly id: string;
  readonly proxy: ProxyInfo;
  readonly mode: AdsMode;
  readonly connectedAt: Date;
  /** Last snapshot sent per type. */
  readonly sent: Map<string, ResourceSnapshot>;
  /** When each type was last sent (ms since epoch), for syncz and config_dump. */
  readonly sentAt: Map<string, number>;
  status(): AdsTypeStatus[];
  /** Feeds one request to the stream's protocol state. */
  receive(request: Req): AdsServerEvent;
  /** Sorted subscribed names, "*" for a wildcard, undefined when the type is not watched (do not mutate). */
  subscribedNames(typeUrl: string): readonly string[] | "*" | undefined;
  types(): readonly string[];
  /** Whether the proxy watches `name` of `typeUrl` (explicitly or by wildcard), without copying its subscription. */
  watches(typeUrl: string, name: string): boolean;
  /**
   * Brings one type up to date with `snapshot`; true when a response was
   * queued. With `only`, a SotW response carries just those resources
   * (incremental EDS, as istiod does: EDS is not a state-of-the-world type,
   * so resources left out stay as they are on the proxy); a delta response
   * carries only changed versions whatever `only` says.
   */
  send(typeUrl: string, snapshot: ResourceSnapshot, only?: ReadonlySet<string>): boolean;
  /** Ends the stream (OK status): max connection age, shutdown. */
  close(): void;
  readonly closed: boolean;
}

/** snapshot → `only` set → the snapshot restricted to it; one object per push, so responses share its encoded run. */
const views = new WeakMap<ResourceSnapshot, WeakMap<ReadonlySet<string>, ResourceSnapshot>>();

function viewOf(snapshot: ResourceSnapshot, only: ReadonlySet<string>): ResourceSnapshot {
  let byOnly = views.get(snapshot);
  if (!byOnly) views.set(snapshot, (byOnly = new WeakMap()));
  let view = byOnly.get(only);
  if (!view) {
    const resources = new Map();
    for (const name of only) {
      const r = snapshot.resources.get(name);
      if (r) resources.set(name, r);
    }
    byOnly.set(only, (view = { version: snapshot.version, resources }));
  }
  return view;
}

export function createAdsConnection<Req, Res>(init: {
  id: string;
  proxy: ProxyInfo;
  mode: AdsMode;
  state: ServerStreamState<Req, Res>;
  out: ResponseSink<Res>;
  /** Applied to every response before it is queued (pre-encoding shared resources); `names` is the subscription it answers. */
  encode?: (response: Res, snapshot: ResourceSnapshot, names: readonly string[] | "*") => Res;
}): AdsConnection<Req> {
  const { state, out } = init;
  const sent = new Map<string, ResourceSnapshot>();
  const sentAt = new Map<string, number>();
  const namesCache = new Map<string, readonly string[] | "*">();
  const self: AdsConnection<Req> = {
    id: init.id,
    proxy: init.proxy,
    mode: init.mode,
    connectedAt: new Date(),
    sent,
    sentAt,
    status: () => state.status(),
    subscribedNames(typeUrl) {
      // Cached until the next request of this type: pushes ask for every
      // connection, and sorting 500 EDS names per proxy per push adds up.
      let names = namesCache.get(typeUrl);
      if (names === undefined) {
        if (!state.watchedTypes().includes(typeUrl)) return undefined;
        const set = state.subscribedNames(typeUrl);
        names = set === undefined ? "*" : [...set].sort();
        namesCache.set(typeUrl, names);
      }
      return names;
    },
    receive(request) {
      const event = state.receive(request);
      if (event.kind === "subscribe" || ((event.kind === "ack" || event.kind === "nack") && event.subscriptionChanged)) namesCache.delete(event.typeUrl);
      return event;
    },
    types: () => state.watchedTypes(),
    watches(typeUrl, name) {
      const cached = self.subscribedNames(typeUrl);
      if (cached === undefined) return false;
      return cached === "*" || (state.subscribedNames(typeUrl)?.has(name) ?? true);
    },
    send(typeUrl, snapshot, only) {
      if (out.closed) return false;
      let view = snapshot;
      // Delta streams diff the snapshot against what the proxy holds and
      // report every held name missing from it as removed, so they must see
      // the whole snapshot; they send only changed versions anyway.
      if (only && init.mode === "sotw") view = viewOf(snapshot, only);
      const response = state.respond(typeUrl, view);
      if (response === undefined) return false;
      sent.set(typeUrl, snapshot);
      sentAt.set(typeUrl, Date.now());
      out.push(init.encode ? init.encode(response, view, self.subscribedNames(typeUrl) ?? "*") : response);
      return true;
    },
    close: () => out.end(),
    get closed() {
      return out.closed;
    },
  };
  return self;
}
