// istio.metadata_exchange as a network filter (envoy.tcp.metadataexchange.config.
// MetadataExchange): on a listener chain before tcp_proxy it exchanges with the
// downstream, as a cluster filter with the upstream. It acts only when the TLS
// handshake negotiated the configured ALPN (`istio-peer-exchange`); otherwise
// the peer is known to be absent at once and not a byte is added, as in Istio.
//
// Unlike Istio's filter, which writes its header on the first byte either way,
// this one writes it as soon as the connection is up: each side then has the
// other's header ahead of the first application byte, so the exchange costs no
// round trip, whichever side speaks first. Reading is bounded in size
// (peer-exchange-reader.ts) and in time: a peer whose header has not come
// PEER_EXCHANGE_TIMEOUT_MS after reading began is reported as unknown (Istio
// waits for it forever), though a header that comes later is still removed.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { MetadataExchangeSchema } from "@weft/xds-api/gen/istio/proxy/metadata_exchange_pb.js";
import { TypedStructSchema as UdpaTypedStructSchema } from "@weft/xds-api/gen/udpa/type/v1/typed_struct_pb.js";
import { TypedStructSchema as XdsTypedStructSchema } from "@weft/xds-api/gen/xds/type/v3/typed_struct_pb.js";
import type { WorkloadMetadata } from "../istio/peer-metadata.js";
import { createPeerExchangeReader, type PeerExchangeReader } from "./peer-exchange-reader.js";

export const METADATA_EXCHANGE_TYPE_URL = "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange";
const UDPA_TYPED_STRUCT = "type.googleapis.com/udpa.type.v1.TypedStruct";
const XDS_TYPED_STRUCT = "type.googleapis.com/xds.type.v3.TypedStruct";
export const PEER_EXCHANGE_TIMEOUT_MS = 5_000;

/** One side of a connection's exchange, where istio.stats reads the peer (Istio's downstream_peer / upstream_peer filter state). */
export interface PeerExchangeState {
  /** Decided: the peer was read, or there is none (Istio's peer_not_found). */
  done: boolean;
  peer: WorkloadMetadata | undefined;
}

export interface PeerExchangeSpec {
  /** The ALPN that means the peer exchanges too. */
  protocol: string;
}

/** The filter's config: the message itself (istiod < 1.22) or a TypedStruct of it (istiod 1.22+); undefined for another type. */
export function peerExchangeSpecOf(any: Any, report: (field: string, detail?: string) => void, at: string): PeerExchangeSpec | null | undefined {
  let protocol: string;
  let discovery = false;
  let labels = false;
  if (any.typeUrl === METADATA_EXCHANGE_TYPE_URL) {
    const m = anyUnpack(any, MetadataExchangeSchema);
    protocol = m?.protocol ?? "";
    discovery = m?.enableDiscovery ?? false;
    labels = (m?.additionalLabels.length ?? 0) > 0;
  } else {
    const schema = any.typeUrl === UDPA_TYPED_STRUCT ? UdpaTypedStructSchema : any.typeUrl === XDS_TYPED_STRUCT ? XdsTypedStructSchema : undefined;
    const ts = schema ? anyUnpack(any, schema) : undefined;
    if (ts?.typeUrl !== METADATA_EXCHANGE_TYPE_URL) return undefined;
    const v: JsonObject = ts.value ?? {};
    const p: JsonValue | undefined = v["protocol"];
    protocol = typeof p === "string" ? p : "";
    discovery = v["enable_discovery"] === true || v["enableDiscovery"] === true;
    const l = v["additional_labels"] ?? v["additionalLabels"];
    labels = Array.isArray(l) && l.length > 0;
  }
  if (discovery) report(`${at}.enable_discovery`, "peer lookup by workload xDS is not implemented: a peer that sends no metadata is unknown");
  if (labels) report(`${at}.additional_labels`, "not implemented: only Istio's standard peer labels are exchanged");
  if (!protocol) {
    // Envoy would then exchange on connections that negotiated no ALPN at all, plaintext ones included.
    report(`${at}.protocol`, "empty: no exchange is done");
    return null;
  }
  return { protocol };
}

export interface PeerExchangeSide {
  state: PeerExchangeState;
  /** Strips the peer's exchange off its stream; undefined when there is nothing to read. */
  reader: PeerExchangeReader | undefined;
  /** Starts the timeout: call when the stream is first read. */
  startReading(): void;
  /** The connection is over: the timer goes. */
  stop(): void;
}

/**
 * One side of one connection: when `negotiated` is the spec's ALPN, `write(header)` sends ours now
 * and the reader takes the peer's; `decided(consumed)` follows once, when the peer is known
 * (`consumed`: exchange bytes taken off the peer's stream).
 */
export function startPeerExchange(spec: PeerExchangeSpec, negotiated: string | undefined, header: Buffer, write: (b: Buffer) => void, decided: (consumed: number) => void): PeerExchangeSide {
  const state: PeerExchangeState = { done: false, peer: undefined };
  if (negotiated !== spec.protocol) {
    state.done = true;
    return { state, reader: undefined, startReading() {}, stop() {} };
  }
  write(header);
  let timer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    clearTimeout(timer);
    timer = undefined;
  };
  const reader = createPeerExchangeReader((peer, consumed) => {
    stop();
    if (state.done) return;
    state.done = true;
    state.peer = peer;
    decided(consumed);
  });
  return {
    state,
    reader,
    startReading() {
      if (state.done || timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        if (state.done) return;
        state.done = true;
        decided(0);
      }, PEER_EXCHANGE_TIMEOUT_MS);
      timer.unref();
    },
    stop,
  };
}
