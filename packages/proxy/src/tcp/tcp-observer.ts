// How network filters placed before tcp_proxy follow the connections it
// proxies (Istio's istio.stats as a network filter): tcp_proxy owns the
// connection's StreamInfo, its upstream host and the upstream TLS identity,
// and tells each observer when the upstream is established and when the
// connection is over. Observers only read; they never change traffic.
import type { StreamInfo } from "../contracts.js";
import type { ConnInfo } from "../listener/conn-info.js";
import type { UpstreamTlsIdentity } from "../tls/upstream-tls.js";
import type { Host } from "../upstream/host.js";
import type { PeerExchangeState } from "./peer-exchange.js";

/** One proxied connection as tcp_proxy sees it; its fields fill in as the connection progresses. */
export interface TcpConnectionView {
  readonly conn: ConnInfo;
  /** Live: upstreamCluster, responseFlags and the byte counts grow as the connection runs. */
  readonly info: StreamInfo;
  /** The host of the latest connect attempt (set before the attempt, so a failed one has it too). */
  host: Host | undefined;
  /** Set once the upstream TLS handshake and its checks are done; undefined for plaintext. */
  upstreamTls: UpstreamTlsIdentity | undefined;
  /** istio.metadata_exchange with the downstream (the chain's filter): undefined when the chain has none. */
  downstreamPeer?: PeerExchangeState;
  /** The same with the upstream (the cluster's filter), set when the upstream connects. */
  upstreamPeer?: PeerExchangeState;
}

/** What one observer does for one connection. */
export interface TcpConnectionWatch {
  /** The upstream connection is established (after the TLS handshake when there is one). */
  upstreamConnected(): void;
  /** A peer exchange (downstreamPeer or upstreamPeer) is decided: the peer was read, or is known to be absent. */
  peerExchanged(): void;
  /** The connection is over, whatever the outcome: called exactly once, after the last byte was counted. */
  closed(): void;
}

export interface TcpObserver {
  /** A connection reached tcp_proxy (after the network filters let it through). */
  watch(view: TcpConnectionView): TcpConnectionWatch;
}
